#!/usr/bin/env bash
# The project's test command: set up, lint, the full suite, then the robot profile
# (Python 3.10, numpy 1.26, OpenCV < 4.12, no torch, as on a ROS 2 Humble robot).
set -euo pipefail
cd "$(dirname "$0")/.."

run_pytest() {  # pytest's exit 5 ("no tests collected") is a failure here too
  local venv=$1; shift
  "$venv/bin/python" -m pytest "$@"
}

bash scripts/setup.sh .venv python3
.venv/bin/ruff check .
.venv/bin/ruff format --check .
run_pytest .venv "$@"

if [ "${ODET_SKIP_ROBOT_PROFILE:-0}" != 1 ]; then
  py310=$(PYENV_VERSION=3.10.13 pyenv which python 2>/dev/null || command -v python3.10 || true)
  if [ -z "$py310" ]; then
    echo "robot profile: no Python 3.10 found (pyenv 3.10.13 or python3.10)" >&2
    exit 1
  fi
  bash scripts/setup.sh .venv-robot "$py310" -c constraints/robot.txt "numpy==1.26.*" -e ".[infer,dev]"
  echo "== robot profile: $(.venv-robot/bin/python -c 'import sys, numpy, cv2; print("python", sys.version.split()[0], "numpy", numpy.__version__, "opencv", cv2.__version__)')"
  if .venv-robot/bin/python -c 'import importlib.util as u; exit(u.find_spec("torch") is None)'; then
    echo "robot profile: torch is installed in .venv-robot; the profile must run without it" >&2
    exit 1
  fi
  run_pytest .venv-robot "$@"
fi
