"""`odet sample`: generate the bundled sample recording (a bag and its ground-truth labels)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sample",
        help="generate a robot-camera-like sample bag with ground-truth labels",
        description=(
            "Render a deterministic recording of plastic bottles, paper cups and drink cans "
            "seen by a moving robot camera, as a rosbag2 (mcap) with Image, CompressedImage and "
            "CameraInfo topics and an aligned depth stream (16UC1, as a RealSense publishes it), "
            "plus the ground truth as a COCO label export keyed by topic and stamp (it stands in "
            "for the human labelling step) and each object's 3D position and size."
        ),
    )
    parser.add_argument("out", type=Path, help="output folder (the bag goes in OUT/sample_bag)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--segments", type=int, default=12, help="sequences, separated by gaps")
    parser.add_argument("--frames", type=int, default=45, help="frames per segment")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from odet_ros.sample.recording import write_sample
    from odet_ros.sample.scene import SampleConfig

    config = SampleConfig(
        seed=args.seed,
        width=args.width,
        height=args.height,
        fps=args.fps,
        segments=args.segments,
        frames_per_segment=args.frames,
    )
    recording = write_sample(args.out, config)
    print(f"bag:    {recording.bag} ({recording.frames} frames per image topic)")
    print(f"labels: {recording.labels} ({recording.boxes} boxes per image topic)")
    print(f"3D:     {recording.ground_truth_3d} (positions in the camera frame, metres)")
    return 0
