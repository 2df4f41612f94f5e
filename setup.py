"""odet_ros: an ament_python package that also installs with pip on a machine without ROS."""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "odet_ros"

# rosbags: BagWriter.flush relies on its mcap writer's chunking (test_bag_writer checks it), which
# 0.11 has and a later release may change: widen the range once the tests pass on it.
ROSBAGS = "rosbags>=0.11,<0.12"
CORE = ["numpy>=1.21", "opencv-python>=4.5.4", "pyyaml>=5.4", ROSBAGS, "tqdm>=4.60"]
ONNX = ["onnxruntime>=1.16"]
TFLITE = ["ai-edge-litert>=1.2"]
ULTRALYTICS = ["ultralytics>=8.3.0"]
TRAIN = [
    *ULTRALYTICS,
    "onnx>=1.15",
    "onnxslim>=0.1.40",
    "litert-torch>=0.8",
    "pycocotools>=2.0.7",
    "faster-coco-eval>=1.6",
    "tensorboard>=2.14",
    "ai-edge-quantizer>=0.10",
]
TRACKING = ["supervision>=0.20,<0.31"]
REPORTS = ["matplotlib>=3.5"]  # plots in dataset and evaluation reports (HTML works without)
DEV = [
    *REPORTS,
    "pytest>=7",
    "hypothesis>=6.80",
    "ruff>=0.6",
    "mypy>=1.10",  # strict on odet_ros (mypy.ini), in the workstation profile
    "types-PyYAML",
    "types-tqdm",
    "mcap-ros2-support>=0.5",
    "mcap>=1.1",
    "colcon-core>=0.15",  # test_colcon_install: the robot's build, without ROS
    "colcon-ros>=0.4",
]


def data_files() -> list[tuple[str, list[str]]]:
    """Files colcon installs into share/odet_ros (launch, config, models, rviz)."""
    share = f"share/{PACKAGE}"
    return [
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (share, ["package.xml"]),
        (f"{share}/launch", _files("launch/*.launch.py")),
        (f"{share}/config", _files("config/*.yaml") + _files("config/*.rviz")),
        *_tree("models", share),
    ]


def _files(pattern: str) -> list[str]:
    return sorted(str(p) for p in Path().glob(pattern))


def _tree(folder: str, share: str) -> list[tuple[str, list[str]]]:
    """data_files entries that keep the sub-folders (a model bundle is a folder)."""
    by_folder: dict[str, list[str]] = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            by_folder.setdefault(f"{share}/{path.parent}", []).append(str(path))
    return sorted(by_folder.items())


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "bench"]),
    package_data={PACKAGE: ["bags/msg/*/msg/*.msg", "py.typed"]},
    data_files=data_files(),
    python_requires=">=3.10",
    install_requires=CORE,
    extras_require={
        "onnx": ONNX,
        "tflite": TFLITE,
        "ultralytics": ULTRALYTICS,
        "tracking": TRACKING,
        "reports": REPORTS,
        "infer": ONNX + TFLITE + TRACKING,
        "train": TRAIN + ONNX + TFLITE + TRACKING + REPORTS,
        "dev": DEV,
    },
    zip_safe=True,
    maintainer="odet_ros developers",
    maintainer_email="odet@example.com",
    description="Object detection for ROS 2 robots: capture, dataset, train, export, detect.",
    license="AGPL-3.0-or-later",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "odet = odet_ros.cli.main:main",
            "detector_node = odet_ros.nodes.detector_node:main",
            "camera_node = odet_ros.nodes.camera_node:main",
            "capture_node = odet_ros.nodes.capture_node:main",
        ],
    },
)
