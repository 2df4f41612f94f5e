#!/usr/bin/env bash
# The main job on the bundled sample, set-up included: no robot, no ROS, no GPU needed.
# Sample bag -> dataset -> labels -> check -> split -> train -> eval -> export -> detect, then
# runs/demo/report.html. Pass --quick for the short CI run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh .venv python3
.venv/bin/odet demo --out runs/demo "$@"
