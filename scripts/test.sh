#!/usr/bin/env bash
# The project's test command, in profiles:
#   workstation  .venv: lint (ruff), types (mypy strict), then the full suite (PyTorch,
#                Ultralytics, every extra; a real Label Studio from .venv-labelstudio; YOLOv5
#                and TensorFlow from .venv-toolchains, which build the toolchain test models)
#   humble jazzy what a ROS 2 robot has, without torch, numpy 1.26 and OpenCV < 4.12, under
#                Humble's Python 3.10 and Jazzy's 3.12 (pyenv)
#   ros          the suite on a real ROS 2 (nodes, launch files, ros2 bag, colcon), once per
#                distro given: ODET_ROS_SETUP="/opt/ros/humble/setup.bash /opt/ros/jazzy/setup.bash"
#                (each in a shell of its own, in .venv-ros-<distro>), or the ROS already sourced.
#                After the workstation profile it runs only the tests that need ROS (the rest
#                just ran); alone (on a robot) the whole suite.
# ODET_PROFILES picks some (on a robot: ODET_PROFILES=ros); arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

run_pytest() {  # pytest's exit 5 ("no tests collected") is a failure here too
  local venv=$1; shift
  "$venv/bin/python" -m pytest "$@"
}

robot_profile() {  # name, Python version: set up .venv-<name> and run the suite in it
  local name=$1 version=$2 venv=.venv-$1 python
  shift 2
  python=$(PYENV_VERSION=$version pyenv which python 2>/dev/null || command -v "python${version%.*}" || true)
  if [ -z "$python" ]; then
    echo "$name profile: no Python $version found (pyenv $version or python${version%.*})" >&2
    exit 1
  fi
  bash scripts/setup.sh "$venv" "$python" -c constraints/robot.txt "numpy==1.26.*" -e ".[infer,dev]"
  echo "== $name profile: $("$venv/bin/python" -c 'import sys, numpy, cv2; print("python", sys.version.split()[0], "numpy", numpy.__version__, "opencv", cv2.__version__)')"
  if "$venv/bin/python" -c 'import importlib.util as u; exit(u.find_spec("torch") is None)'; then
    echo "$name profile: torch is installed in $venv; the profile must run without it" >&2
    exit 1
  fi
  run_pytest "$venv" "$@"
}

ros_profile() {  # setup file ('' for the ROS already sourced): the suite on that ROS 2 distro
  local setup=$1; shift
  (
    if [ -n "$setup" ]; then
      set +u  # ROS setup files read unset variables
      # shellcheck disable=SC1090
      source "$setup"
      set -u
    fi
    # The README's robot recipe: a venv over ROS's Python that sees rclpy, ROS's modules and its
    # numpy 1.x, the pip packages installed under the robot constraints.
    local python venv=.venv-ros-$ROS_DISTRO
    python=$(command -v python3)
    ODET_VENV_INHERIT=1 bash scripts/setup.sh "$venv" "$python" \
      -c constraints/robot.txt -e ".[infer,dev]"
    echo "== ROS $ROS_DISTRO profile ($scope): $("$venv/bin/python" -c 'import sys, numpy, rclpy; print("python", sys.version.split()[0], "numpy", numpy.__version__)')"
    # Cyclone DDS without multicast (loopback) discovers peers by participant index, 0-9 unless
    # told otherwise: a suite that runs launch files, bag players and CLI tools at once can use
    # more, and an eleventh participant then never discovers the others. Images arrive as bursts
    # of UDP datagrams: a socket receive buffer of 4 MiB (no more than net.core.rmem_max allows)
    # keeps a burst of two cameras' frames whole (runtime/udp_drops.py says what is lost without).
    local rmem
    rmem=$(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo 4194304)
    rmem=$(( rmem < 4194304 ? rmem : 4194304 ))
    export CYCLONEDDS_URI=${CYCLONEDDS_URI:-"<CycloneDDS><Domain><Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>50</MaxAutoParticipantIndex></Discovery><Internal><SocketReceiveBufferSize min=\"${rmem}B\"/></Internal></Domain></CycloneDDS>"}
    trap 'ros2 daemon stop >/dev/null 2>&1 || true' EXIT
    ODET_ROS_ONLY=$ros_only ODET_REQUIRE_ROS=1 PATH="$PWD/$venv/bin:$PATH" run_pytest "$venv" "$@"
  )
}

install_chromium() {  # Debian's chromium package, as root or through password-less sudo
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || return 1
    sudo=(sudo -n)
  fi
  local install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y
    --no-install-recommends chromium)
  "${install[@]}" || { "${sudo[@]}" apt-get update && "${install[@]}"; }
}

profiles=${ODET_PROFILES:-workstation humble jazzy ros}
LABEL_STUDIO_VERSION=1.23.2
YOLOV5_VERSION=7.0.14
TENSORFLOW_VERSION=2.21.0
wants() { [[ " $profiles " == *" $1 "* ]]; }

if wants workstation; then
  bash scripts/setup.sh .venv python3
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  .venv/bin/mypy
  # A real Label Studio for the live labelling tests, in a venv of its own (its pins clash with
  # ours); odet only talks to it over HTTP. Its sentry-sdk is left unpinned upstream and
  # sentry-sdk 3.0 refuses the options Label Studio starts it with (send_default_pii).
  label_studio=()
  if bash scripts/setup.sh .venv-labelstudio python3 "label-studio==$LABEL_STUDIO_VERSION" \
    "sentry-sdk<3"; then
    label_studio=(ODET_LABEL_STUDIO="$PWD/.venv-labelstudio/bin/label-studio")
  else
    label_studio=(ODET_LABEL_STUDIO_UNAVAILABLE="pip could not install label-studio==$LABEL_STUDIO_VERSION (see the log above)")
  fi
  # Headless Chromium renders the demo's report and the pages it links to (test_demo.py): every
  # image loads, nothing sticks out sideways.
  browser=()
  if chromium_path=$(command -v chromium || command -v chromium-browser) || install_chromium; then
    browser=(ODET_CHROMIUM="${chromium_path:-$(command -v chromium)}")
  else
    browser=(ODET_CHROMIUM_UNAVAILABLE="apt-get could not install chromium (see the log above)")
  fi
  # YOLOv5 and TensorFlow build the toolchain test models (test/support/toolchains.py) with their
  # own code; their pins clash with ours (huggingface-hub, numpy 2.4, torch 2.6's torch.load):
  # a venv over .venv that adds only them.
  toolchains=()
  if ODET_VENV_INHERIT=1 bash scripts/setup.sh .venv-toolchains .venv/bin/python \
      "yolov5==$YOLOV5_VERSION" "tensorflow-cpu==$TENSORFLOW_VERSION"; then
    toolchains=(ODET_TOOLCHAINS_PYTHON="$PWD/.venv-toolchains/bin/python")
  else
    toolchains=(ODET_TOOLCHAINS_UNAVAILABLE="pip could not install yolov5==$YOLOV5_VERSION and tensorflow-cpu==$TENSORFLOW_VERSION (see the log above)")
  fi
  env "${label_studio[@]}" "${browser[@]}" "${toolchains[@]}" .venv/bin/python -m pytest "$@"
fi
if wants humble; then robot_profile humble 3.10.13 "$@"; fi
if wants jazzy; then robot_profile jazzy 3.12.1 "$@"; fi
if wants ros; then
  ros_only=0 scope="the whole suite"
  if wants workstation; then ros_only=1 scope="the tests that need ROS; the rest ran above"; fi
  if [ -n "${ODET_ROS_SETUP:-}" ]; then
    for setup in $ODET_ROS_SETUP; do ros_profile "$setup" "$@"; done
  elif [ -n "${ROS_DISTRO:-}" ]; then
    ros_profile "" "$@"
  elif [ -n "${ODET_PROFILES:-}" ]; then
    echo "ros profile: no ROS 2 given (ODET_ROS_SETUP=<setup file>, or source ROS first)" >&2
    exit 1
  else
    echo "ros profile: SKIPPED, no ROS 2 given (ODET_ROS_SETUP=<setup file>, or source ROS" \
      "first): the nodes and launch files were not tested on real ROS 2" >&2
  fi
fi
