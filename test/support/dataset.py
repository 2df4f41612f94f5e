"""Real bags and real dataset folders, for the dataset and label tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer

from odet_ros.bags import BagWriter, make_typestore
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import ManifestRow, write_manifest
from odet_ros.imaging import numpy_to_compressed, numpy_to_image
from odet_ros.interfaces import make_header

TYPESTORE = make_typestore("humble")
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
SECOND = 1_000_000_000
START = 1_700_000_000 * SECOND


def raw_image(array: np.ndarray, encoding: str, stamp_ns: int) -> object:
    header = make_header(TYPESTORE, stamp_ns, "camera")
    return numpy_to_image(array, encoding, header, TYPESTORE.types[IMAGE])


def compressed_image(array: np.ndarray, fmt: str, stamp_ns: int, encoding: str = "bgr8") -> object:
    header = make_header(TYPESTORE, stamp_ns, "camera")
    return numpy_to_compressed(array, header, TYPESTORE.types[COMPRESSED], fmt, encoding)


def write_bag(
    path: Path, messages: list[tuple[str, str, int, object]], storage: str = "mcap"
) -> Path:
    """A bag of (topic, msgtype, receive_ns, msg): mcap by odet's BagWriter, sqlite3 by rosbags'."""
    if storage == "mcap":
        with BagWriter(path) as writer:
            for topic, msgtype in dict.fromkeys((m[0], m[1]) for m in messages):
                writer.add_topic(topic, msgtype)
            for topic, _, stamp, msg in messages:
                writer.write(topic, stamp, msg)
        return path
    writer = Writer(path, version=8, storage_plugin=StoragePlugin.SQLITE3)
    with writer:
        connections = {}
        for topic, msgtype, stamp, msg in messages:
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=TYPESTORE)
            writer.write(connections[topic], stamp, TYPESTORE.serialize_cdr(msg, msgtype))
    return path


def textured(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A BGR image with structure (sharp, and different from the next one)."""
    coarse = rng.integers(0, 256, (height // 4 + 1, width // 4 + 1, 3), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_NEAREST)


def make_dataset(
    root: Path,
    names: list[str],
    images: dict[str, list[list[float]] | None],
    groups: dict[str, str] | None = None,
    size: tuple[int, int] = (64, 48),
    seed: int = 0,
) -> Dataset:
    """A dataset of JPEG images (``None`` labels: no label file) with a manifest of ``groups``."""
    dataset = Dataset.create(root)
    dataset.write_data_yaml(names)
    rng = np.random.default_rng(seed)
    rows = []
    for index, (file, labels) in enumerate(images.items()):
        cv2.imwrite(str(dataset.image_path(file)), textured(rng, size[1], size[0]))
        if labels is not None:
            text = "".join(" ".join(f"{v:g}" for v in row) + "\n" for row in labels)
            dataset.label_path(file).write_text(text)
        group = (groups or {}).get(file, "g")
        rows.append(
            ManifestRow(file, "bag", "/cam", START + index, START + index, *size, "bgr8", group)
        )
    write_manifest(dataset.manifest_path, rows)
    return dataset


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
