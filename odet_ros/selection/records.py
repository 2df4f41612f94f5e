"""The selection record a kept frame carries in the bag: why it was kept and the model's boxes
on it, so that `odet bag export` turns the frame into a pre-labelled image.

One ``std_msgs/String`` per kept frame on ``/odet/selection``, its data JSON (readable with
``ros2 topic echo``, no message package to build): the image topic and stamp it belongs to,
the reasons, the model and its class names, the image size and the boxes in its pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from odet_ros.detection.types import Detections
from odet_ros.selection.errors import SelectionError

SELECTION_TOPIC = "/odet/selection"
SELECTION_TYPE = "std_msgs/msg/String"


@dataclass(frozen=True)
class SelectionRecord:
    topic: str  # the image topic
    stamp_ns: int  # the image's header stamp
    reasons: tuple[str, ...]
    model: str  # the model's name (bundle folder or file), "" if not known
    names: list[str]  # the model's classes: class ids index this
    width: int
    height: int
    detections: Detections
    model_version: str = ""  # the model file's SHA-256 prefix (model_identity)

    @property
    def model_label(self) -> str:
        """How pre-labels name the model: ``name@version``."""
        name = self.model or "unknown"
        return f"{name}@{self.model_version}" if self.model_version else name

    def to_json(self) -> str:
        detections = self.detections
        return json.dumps(
            {
                "topic": self.topic,
                "stamp_ns": self.stamp_ns,
                "reasons": list(self.reasons),
                "model": self.model,
                "model_version": self.model_version,
                "names": self.names,
                "width": self.width,
                "height": self.height,
                "xyxy": np.round(detections.xyxy, 2).tolist(),
                "scores": np.round(detections.scores, 4).tolist(),
                "class_ids": detections.class_ids.tolist(),
            }
        )

    @classmethod
    def from_json(cls, text: str, where: str) -> SelectionRecord:
        """Parse one record; ``where`` (the bag and stamp) names it in errors."""
        try:
            data: dict[str, Any] = json.loads(text)
            record = cls(
                topic=str(data["topic"]),
                stamp_ns=int(data["stamp_ns"]),
                reasons=tuple(str(r) for r in data["reasons"]),
                model=str(data.get("model", "")),
                names=[str(n) for n in data["names"]],
                width=int(data["width"]),
                height=int(data["height"]),
                detections=Detections.from_arrays(
                    np.array(data["xyxy"], np.float32).reshape(-1, 4),
                    np.array(data["scores"], np.float32),
                    np.array(data["class_ids"], np.int64),
                ),
                model_version=str(data.get("model_version", "")),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise SelectionError(f"{where}: not an odet selection record ({error!r})") from None
        ids = record.detections.class_ids
        if len(ids) and (ids.min() < 0 or ids.max() >= len(record.names)):
            raise SelectionError(
                f"{where}: class ids outside the record's {len(record.names)} names"
            )
        return record
