"""Class names of imported labels mapped onto a dataset's: by name, with renames and merges.

A mapping ``{"old": "new"}`` renames; two names mapped to one merge; ``{"old": None}`` drops a
class. Names the dataset lacks are appended, so existing class indexes never move.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from odet_ros.labels.errors import LabelFormatError
from odet_ros.labels.model import LabelSet

LOG = logging.getLogger(__name__)


def parse_mapping(items: Iterable[str]) -> dict[str, str | None]:
    """``OLD=NEW`` strings (``OLD=`` drops OLD) as a mapping."""
    mapping: dict[str, str | None] = {}
    for item in items:
        old, separator, new = item.partition("=")
        if not separator or not old.strip():
            raise LabelFormatError(f"--map {item!r}: expected OLD=NEW (or OLD= to drop OLD)")
        mapping[old.strip()] = new.strip() or None
    return mapping


@dataclass(frozen=True)
class MappedLabels:
    """Labels with class ids into ``names``; ``added`` are the names appended to the target's,
    ``dropped`` the number of boxes of dropped classes."""

    labels: LabelSet
    names: list[str]
    added: list[str]
    dropped: int


def map_classes(
    labels: LabelSet, target: list[str], mapping: dict[str, str | None] | None = None
) -> MappedLabels:
    """Re-index ``labels`` onto the class list ``target`` (extended where needed)."""
    mapping = mapping or {}
    if unused := sorted(set(mapping) - set(labels.names)):
        LOG.warning("class mapping names %s, which the labels do not have", ", ".join(unused))
    names = list(target)
    lookup = np.full(len(labels.names), -1, np.int64)
    for source_id, name in enumerate(labels.names):
        mapped = mapping.get(name, name)
        if mapped is None:
            continue
        if mapped not in names:
            names.append(mapped)
        lookup[source_id] = names.index(mapped)
    dropped = 0
    images = []
    for image in labels.images:
        ids = lookup[image.class_ids]
        keep = ids >= 0
        dropped += int((~keep).sum())
        images.append(replace(image.subset(keep), class_ids=ids[keep]))
    relabelled = LabelSet(names, images, labels.skipped.copy())
    return MappedLabels(relabelled, names, names[len(target) :], dropped)
