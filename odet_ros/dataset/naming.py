"""Stable, unique image names for frames exported from bags.

A frame is identified by (bag, topic, stamp): the same frame gets the same name on every run
(so re-runs resume and label files written elsewhere match), and two bags or cameras never
collide. Label exports keyed by these names (the sample's ground truth, a labelling tool's
export) match the frames whatever subset of them was kept.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SEPARATOR = "__"


def frame_stem(bag_name: str, topic: str, stamp_ns: int) -> str:
    """``<bag>__<topic>__<stamp_ns>`` with path separators and odd characters replaced."""
    bag = _UNSAFE.sub("_", bag_name).strip("_") or "bag"
    topic_part = _UNSAFE.sub("_", topic.strip("/")).strip("_") or "topic"
    return f"{bag}{SEPARATOR}{topic_part}{SEPARATOR}{int(stamp_ns):019d}"


def parse_frame_stem(stem: str) -> tuple[str, str, int]:
    """The (bag, topic part, stamp_ns) of a :func:`frame_stem` name; ValueError otherwise."""
    parts = stem.rsplit(SEPARATOR, 2)
    if len(parts) != 3 or not parts[2].isdigit():
        raise ValueError(f"not an odet frame name: {stem!r}")
    return parts[0], parts[1], int(parts[2])
