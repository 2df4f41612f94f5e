#!/usr/bin/env bash
# The main job on the bundled sample, set-up included: no robot, no ROS, no GPU needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh .venv python3
out=runs/demo
.venv/bin/odet sample "$out/sample"
.venv/bin/odet bag info "$out/sample/sample_bag"
