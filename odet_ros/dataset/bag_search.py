"""Find the bags to export among the paths a user gives: bags, or folders holding bags."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from odet_ros.errors import OdetError

STORAGE_SUFFIXES = frozenset({".mcap", ".db3"})


def is_bag_folder(folder: Path) -> bool:
    """A rosbag2 folder: metadata.yaml, or only rosbag2-named storage files (``<folder>.mcap``,
    ``<folder>_<n>.mcap``) of a recording cut short before metadata.yaml was written."""
    if (folder / "metadata.yaml").is_file():
        return True
    part = re.compile(rf"{re.escape(folder.name)}(_\d+)?\.(mcap|db3)")
    storage = [p.name for p in folder.iterdir() if p.suffix in STORAGE_SUFFIXES and p.is_file()]
    return bool(storage) and all(part.fullmatch(name) for name in storage)


def is_bag(path: Path) -> bool:
    """A rosbag2 folder or a bare .mcap / .db3 file."""
    if path.is_file():
        return path.suffix in STORAGE_SUFFIXES
    return path.is_dir() and is_bag_folder(path)


def find_bags(paths: Iterable[str | Path]) -> list[Path]:
    """Bag folders and bare .mcap/.db3 files in ``paths``, folders searched recursively.

    A bag folder is taken whole (its split files are one recording); the result is sorted and
    free of repeats.
    """
    found: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser()
        if path.is_file():
            if path.suffix not in STORAGE_SUFFIXES:
                raise OdetError(f"{path}: not a bag (.mcap, .db3 or a rosbag2 folder)")
            found.add(path.resolve())
        elif path.is_dir():
            found.update(_search(path.resolve()))
        else:
            raise OdetError(f"{path}: no such bag file or folder")
    return sorted(found)


def _search(folder: Path) -> list[Path]:
    if is_bag_folder(folder):
        return [folder]
    bags = []
    for child in sorted(folder.iterdir()):
        if child.is_dir():
            bags.extend(_search(child))
        elif child.suffix in STORAGE_SUFFIXES:
            bags.append(child)
    return bags


def bag_name(path: Path) -> str:
    """The name a bag's frames carry: its folder name, or a bare file's name without suffix."""
    return path.stem if path.is_file() else path.name
