"""`odet deploy`: install a model bundle into a package's models/ and check that it runs there.

The bundle is copied into this package's installed share directory (ROS 2 sourced), into
WS/src/odet_ros/models (``--workspace``), or into any models folder (``--into``); it is loaded
with the backends of this machine and run once before it is put in place. Prints the launch
command that uses it.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "deploy",
        help="install a model bundle into the package's models/ and check it runs",
        description=(
            "Install BUNDLE (a model bundle folder, or a model file made into one) as models/NAME"
            " of the odet_ros package: its "
            "installed share directory when ROS 2 is sourced, else --workspace WS "
            "(WS/src/odet_ros/models, installed by the next colcon build) or --into PATH. The "
            "bundle must load and run once here before it is installed."
        ),
    )
    parser.add_argument(
        "bundle",
        help="model bundle folder (from odet export), or a model file (.onnx, .tflite, .pt) that"
        " becomes a bundle: its names and layout written into bundle.yaml",
    )
    parser.add_argument(
        "--labels",
        help="a model file's class names: labels.txt (one per line), labelmap.txt or the Object"
        " Detection API's label_map.pbtxt (default: the model's metadata, else such a file beside"
        " it)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--into", help="a models folder to install into")
    where.add_argument("--workspace", help="a colcon workspace holding src/odet_ros")
    parser.add_argument("--name", help="installed name (default: the bundle folder's name)")
    parser.add_argument("--force", action="store_true", help="replace an installed bundle")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from odet_ros.training.deploy import deploy

    deployment = deploy(
        args.bundle,
        into=args.into,
        workspace=args.workspace,
        name=args.name,
        force=args.force,
        labels=args.labels,
    )
    print(f"installed {deployment.folder} (runs here with {deployment.backend})")
    if deployment.rebuild_needed:
        print("build and source the workspace: colcon build --packages-select odet_ros")
    print(deployment.launch_command)
    return 0
