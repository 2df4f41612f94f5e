#!/usr/bin/env bash
# Create the virtual environment on first use (or when the dependencies change) and install
# odet_ros into it with every extra. Usage: scripts/setup.sh [VENV] [PYTHON] [PIP ARGS...]
# ODET_VENV_INHERIT=1: the venv also sees the packages PYTHON has, as a robot's venv made with
# --system-site-packages sees rclpy's numpy and ROS's Python modules (the ROS test profile).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${1:-.venv}
python=${2:-python3}
shift $(( $# < 2 ? $# : 2 ))
extra_args=("$@")
[ ${#extra_args[@]} -gt 0 ] || extra_args=(-e ".[train,dev]")

stamp="$venv/.odet-setup"
# PyTorch comes with the "train" extra only (the robot profile has none).
train_extra='\[([a-z]+,)*train[],]'
with_torch=0
[[ "${extra_args[*]}" =~ $train_extra ]] && with_torch=1

inherit=${ODET_VENV_INHERIT:-0}
want=$( (cat setup.py constraints/*.txt; echo "$python $inherit ${extra_args[*]}") | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

# A full install (PyTorch with its CUDA libraries) takes about 7.5 GB: say so before pip fills
# the disk halfway through.
need_gb=1
[ "$with_torch" = 1 ] && need_gb=9
free_gb=$(df -Pk . | awk 'NR == 2 { print int($4 / 1048576) }')
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "setup: $venv needs about $need_gb GB free in $(pwd), only $free_gb GB left" >&2
  exit 1
fi

echo "setting up $venv with $python (first run takes a few minutes)" >&2
if [ "$inherit" = 1 ]; then
  rm -rf "$venv"
  "$python" -m venv --system-site-packages "$venv"
  # Where PYTHON is itself a venv (a ROS install's own, or .venv), --system-site-packages reaches
  # only the interpreter under it: a .pth file adds PYTHON's site-packages after the new venv's
  # own, as a site directory, so that its own .pth files (an editable install's) apply too.
  base=$("$python" -c 'import sys, sysconfig; print(sysconfig.get_paths()["purelib"] if sys.prefix != sys.base_prefix else "")')
  if [ -n "$base" ]; then
    echo "import site; site.addsitedir('$base')" > "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/_odet_inherit.pth"
  fi
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
if [ "$with_torch" = 1 ]; then
  # PyTorch first and pinned: pip takes these releases from this machine's disk (x86_64), the
  # CPU build elsewhere; an unpinned torch would pull several GB of CUDA wheels.
  case "$(uname -m)" in
    aarch64) torch=(torch==2.9.1 torchvision==0.24.1) ;;
    *) torch=(torch==2.14.1 torchvision==0.29.1) ;;
  esac
  "$venv/bin/python" -m pip install -q "${torch[@]}"
fi
"$venv/bin/python" -m pip install -q "${extra_args[@]}"
echo "$want" > "$stamp"
