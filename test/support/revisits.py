"""A patrol that comes back: places visited several times in a shuffled order, recorded as the
capture node records (about a frame a second, a pause between visits), in one bag or over two
days. Each visit shows its place as the others do, give or take a small shift of the camera and
fresh sensor noise: the frames `odet dataset check` calls near twins when they land in two
splits.

``shared_colours`` paints every place with one palette (each channel's histogram matched to the
first place's): places a colour histogram cannot tell apart, the negative of the grouping test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from odet_ros.bags import BagWriter, make_typestore
from odet_ros.imaging import numpy_to_image
from odet_ros.interfaces import make_header
from odet_ros.sample.scene import SampleConfig, generate_frames

TOPIC = "/camera/image_raw"
SECOND = 1_000_000_000
START_NS = 1_700_000_000 * SECOND


@dataclass(frozen=True)
class Patrol:
    seed: int = 0
    places: int = 10
    visits: int = 3  # of each place
    frames_per_visit: int = 5  # a frame a second
    pause_s: tuple[float, float] = (5.0, 20.0)  # between visits
    shift_px: int = 4  # the camera's position differs by up to this from visit to visit
    noise: float = 3.0  # sensor noise (grey levels, standard deviation)
    shared_colours: bool = False
    width: int = 160
    height: int = 120


@dataclass(frozen=True)
class Shot:
    stamp_ns: int
    place: int
    visit: int  # the visit's rank in the patrol (0 = first)
    image: NDArray[np.uint8]


def patrol_shots(patrol: Patrol) -> list[Shot]:
    """The patrol's frames in time order."""
    rng = np.random.default_rng(patrol.seed + 1000)
    views = _place_views(patrol)
    order = rng.permutation(np.repeat(np.arange(patrol.places), patrol.visits))
    shots, stamp = [], START_NS
    for rank, place in enumerate(order.tolist()):
        dx, dy = rng.integers(-patrol.shift_px, patrol.shift_px + 1, 2)
        for view in views[place]:
            moved = cv2.warpAffine(
                view,
                np.array([[1, 0, dx], [0, 1, dy]], np.float32),
                (patrol.width, patrol.height),
                borderMode=cv2.BORDER_REFLECT,
            )
            noisy = moved + rng.normal(0, patrol.noise, moved.shape)
            shots.append(Shot(stamp, place, rank, np.clip(noisy, 0, 255).astype(np.uint8)))
            stamp += int(SECOND * rng.uniform(0.9, 1.1))  # the capture node's jitter
        stamp += int(SECOND * rng.uniform(*patrol.pause_s))
    return shots


def _place_views(patrol: Patrol) -> list[list[NDArray[np.uint8]]]:
    """Each place as the robot's camera sees it passing by: the sample's rooms, a frame a
    second (the pan moves on between frames)."""
    config = SampleConfig(
        seed=patrol.seed,
        segments=patrol.places,
        frames_per_segment=patrol.frames_per_visit,
        width=patrol.width,
        height=patrol.height,
        fps=1.0,
        blur_probability=0.0,
        still_fraction=0.0,
    )
    views: list[list[NDArray[np.uint8]]] = [[] for _ in range(patrol.places)]
    for frame in generate_frames(config):
        views[frame.segment].append(frame.image)
    if patrol.shared_colours:
        reference = np.concatenate(views[0], axis=1)
        views = [[_match_colours(v, np.concatenate(place, axis=1), reference) for v in place]
                 for place in views]  # fmt: skip
    return views


def _match_colours(
    image: NDArray[np.uint8], place: NDArray[np.uint8], reference: NDArray[np.uint8]
) -> NDArray[np.uint8]:
    """``image`` with each channel's histogram mapped as ``place``'s onto ``reference``'s."""
    out = np.empty_like(image)
    for channel in range(3):
        source = np.sort(place[..., channel].ravel())
        target = np.sort(reference[..., channel].ravel())
        ranks = np.searchsorted(source, np.arange(256)) / max(len(source) - 1, 1)
        lut = target[np.clip((ranks * (len(target) - 1)).astype(int), 0, len(target) - 1)]
        out[..., channel] = lut[image[..., channel]]
    return out


def write_patrol(folder: Path, patrol: Patrol, days: int = 1) -> list[Path]:
    """The patrol as ``days`` bags (visits cut into consecutive days, a night between)."""
    typestore = make_typestore("humble")
    image_type = typestore.types["sensor_msgs/msg/Image"]
    shots = patrol_shots(patrol)
    cuts = np.array_split(np.arange(patrol.places * patrol.visits), days)
    bags = []
    for day, visits in enumerate(cuts):
        path = folder / f"patrol_day{day}"
        night = day * 12 * 3600 * SECOND
        with BagWriter(path) as writer:
            writer.add_topic(TOPIC, "sensor_msgs/msg/Image")
            for shot in shots:
                if shot.visit in visits:
                    header = make_header(typestore, shot.stamp_ns + night, "camera")
                    message = numpy_to_image(shot.image, "bgr8", header, image_type)
                    writer.write(TOPIC, shot.stamp_ns + night, message)
        bags.append(path)
    return bags
