"""The cameras one detector serves, and where each one's outputs go.

With no ``image_topics`` the node serves one camera on its ``image`` remapping and publishes
under its own namespace (``detections``, ``image_annotated``: the single-camera node as ever).
Given, each camera's outputs are siblings of its image topic, as a driver's topics are siblings
(``/front/image_raw`` -> ``/front/detections``), so each camera's results sit beside its images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from odet_ros.interfaces.topics import is_compressed, outputs_beside
from odet_ros.runtime.errors import ParameterError


@dataclass(frozen=True)
class Camera:
    """One camera: its image topic (resolved), its aligned depth topic ('' for none), and the
    prefix of its output topics ('' for the node's own relative names)."""

    topic: str
    depth_topic: str = ""
    outputs: str = ""

    @property
    def compressed(self) -> bool:
        return is_compressed(self.topic)

    def output(self, name: str) -> str:
        """An output topic of this camera: ``detections`` -> ``/front/detections``."""
        return f"{self.outputs}{name}"


def cameras(
    image_topics: Sequence[str],
    depth_topics: Sequence[str],
    resolve: Callable[[str], str],
    *,
    single: tuple[str, str],
) -> list[Camera]:
    """The cameras the parameters name. ``single`` is the one-camera default: (the resolved
    ``image`` topic, its depth topic). Raises ParameterError naming what does not fit."""
    if not image_topics:
        if depth_topics:
            raise ParameterError("depth_topics needs image_topics (one camera: depth_topic)")
        return [Camera(single[0], single[1])]
    if depth_topics and len(depth_topics) != len(image_topics):
        raise ParameterError(
            f"depth_topics has {len(depth_topics)} entries for {len(image_topics)} image_topics:"
            " give one per camera ('' for a camera without depth)"
        )
    if single[1]:
        raise ParameterError(
            "with image_topics, give depth per camera in depth_topics, not depth_topic"
        )
    found = [
        Camera(resolve(topic), resolve(depth) if depth else "", outputs_beside(resolve(topic)))
        for topic, depth in zip(
            image_topics, list(depth_topics) or [""] * len(image_topics), strict=True
        )
    ]
    by_outputs: dict[str, str] = {}
    for camera in found:
        other = by_outputs.setdefault(camera.outputs, camera.topic)
        if other != camera.topic:
            raise ParameterError(
                f"image_topics {other} and {camera.topic} would publish on the same"
                f" {camera.output('detections')}: give each camera a namespace of its own"
            )
    return found
