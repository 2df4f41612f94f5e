"""A deterministic, robot-camera-like sequence of frames with ground-truth boxes.

The recording is a series of segments, each a room (a textured wall and floor panorama with
objects standing on the floor) that the camera pans across and drives towards; ``scene="yard"``
makes each segment an outdoor yard instead (sky, a tree or building line, grass, asphalt or
gravel), a second kind of scene for claims that must hold beyond the rooms. Segments are
separated by a time gap, so a grouped split has several independent sequences to work with.
Within a segment: camera motion and scale change, lighting drift, a pole that passes in front
(partial occlusion), the odd motion-blurred frame, and stretches of standing still (nearly
identical frames, for de-duplication).

Each object is a sprite whose alpha is its silhouette, so its exact mask is known: the room
keeps a label image beside its panorama (which object each pixel shows, nearer objects over
farther ones), warped with the frame and cut by the pole like the pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from odet_ros.depth.intrinsics import Intrinsics
from odet_ros.imaging.opencv import uint8_image
from odet_ros.sample.depth import Cylinder, Pole, Room
from odet_ros.sample.objects import draw_object

SCENES = ("rooms", "yard")
MIN_VISIBLE_FRACTION = 0.4
PANORAMA_WIDTHS = 3  # a room is this many frame widths wide
FOCAL_WIDTHS = 0.9  # focal length at zoom 1, in frame widths (the sample's CameraInfo)
WALL_M = 7.0  # the wall's distance; the floor meets it at the panorama's horizon row
NEAR_M = 1.0  # the floor's distance at the bottom row, at zoom 1
POLE_M = 0.7  # the pole passes this close


@dataclass(frozen=True)
class SampleConfig:
    """What to generate; the same config and seed always give the same frames."""

    seed: int = 0
    width: int = 320
    height: int = 240
    fps: float = 15.0
    segments: int = 12
    frames_per_segment: int = 45
    objects_per_segment: tuple[int, int] = (4, 7)
    classes: tuple[int, ...] = (0, 1, 2)  # the classes placed in the rooms (CLASS_NAMES ids)
    blur_probability: float = 0.05
    still_fraction: float = 0.25
    segment_gap_s: float = 3.0
    start_ns: int = 1_700_000_000_000_000_000
    scene: str = "rooms"  # rooms | yard

    def __post_init__(self) -> None:
        if self.scene not in SCENES:
            raise ValueError(f"scene must be one of {', '.join(SCENES)}, not {self.scene!r}")


@dataclass(frozen=True)
class Frame:
    """One rendered frame (BGR) and its ground truth in its own pixels (boxes, and the pixels of
    each box's object as an instance mask image), and in 3D: the camera
    of the frame (its zoom is a focal length), the room as geometry an aligned depth camera
    sees (:func:`odet_ros.sample.depth.render_depth`), and each box's object as a cylinder."""

    index: int
    stamp_ns: int
    segment: int
    image: NDArray[np.uint8]
    boxes: NDArray[np.float32]  # (N, 4) xyxy
    class_ids: NDArray[np.int64]  # (N,)
    masks: NDArray[np.uint16]  # (H, W): pixel = index of the box it shows + 1, 0 = none
    blurred: bool
    still: bool
    camera: Intrinsics
    room: Room  # every object of the view, hidden ones too, and the pole
    objects: tuple[Cylinder, ...]  # (N,): the object of each box


@dataclass(frozen=True)
class _Path:
    """Per frame of a segment: horizontal pan (panorama pixels), zoom, standing still."""

    pan: NDArray[np.float64]
    zoom: NDArray[np.float64]
    still: NDArray[np.bool_]


@dataclass(frozen=True)
class _Room:
    panorama: NDArray[np.uint8]
    labels: NDArray[np.uint16]  # which object each panorama pixel shows (index + 1), 0 = none
    boxes: NDArray[np.float32]
    class_ids: NDArray[np.int64]
    horizon: int  # the row where the floor meets the wall


def _texture(
    rng: np.random.Generator, height: int, width: int, base: NDArray[np.float32]
) -> NDArray[np.uint8]:
    """Low-frequency blotches plus fine grain around a base colour."""
    shape = (max(2, height // 16), max(2, width // 16))
    coarse = rng.normal(0, 18, (*shape, 1)) + rng.normal(0, 5, (*shape, 3))
    blotches = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    pixels = np.clip(base[None, None, :] + blotches + grain, 0, 255)
    texture: NDArray[np.uint8] = pixels.astype(np.uint8)
    return texture


def _background(rng: np.random.Generator, height: int, width: int) -> tuple[NDArray[np.uint8], int]:
    """A wall over a floor; returns the image and the row of the horizon."""
    horizon = int(height * rng.uniform(0.32, 0.45))
    wall = _texture(rng, horizon, width, rng.uniform(120, 220, 3).astype(np.float32))
    floor = _texture(rng, height - horizon, width, rng.uniform(50, 150, 3).astype(np.float32))
    tile = int(rng.integers(24, 48))
    floor[:, ::tile] = (floor[:, ::tile] * 0.7).astype(np.uint8)
    floor[:: max(4, tile // 3)] = (floor[:: max(4, tile // 3)] * 0.8).astype(np.uint8)
    for _ in range(int(rng.integers(2, 5))):  # doors and posters on the wall
        x0 = int(rng.integers(0, width - 40))
        w, h = int(rng.integers(20, 60)), int(rng.integers(horizon // 3, horizon))
        colour = tuple(int(v) for v in rng.integers(30, 230, 3))
        cv2.rectangle(wall, (x0, horizon - h), (x0 + w, horizon - 1), colour, -1)
    return np.vstack([wall, floor]), horizon


def _yard(rng: np.random.Generator, height: int, width: int) -> tuple[NDArray[np.uint8], int]:
    """Sky over a line of trees or buildings over open ground; returns the image and the row of
    the horizon."""
    horizon = int(height * rng.uniform(0.3, 0.42))
    top = rng.uniform([150, 90, 40], [230, 160, 90])  # BGR: blue overhead, paler at the horizon
    low = rng.uniform([200, 190, 170], [250, 235, 220])
    rows = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None, None]
    sky = np.broadcast_to(top * (1 - rows) + low * rows, (horizon, width, 3)).astype(np.float32)
    clouds = np.zeros((horizon, width), np.float32)
    for _ in range(int(rng.integers(2, 6))):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, max(horizon // 2, 1))))
        axes = (int(rng.integers(15, 60)), int(rng.integers(4, 12)))
        cv2.ellipse(clouds, centre, axes, 0, 0, 360, 1.0, -1)
    cover = 0.8 * np.asarray(cv2.GaussianBlur(clouds, (0, 0), 5), np.float32)[..., None]
    sky = sky * (1 - cover) + 245 * cover
    ground_colour = rng.choice([[60, 140, 70], [110, 110, 105], [150, 175, 190]])  # BGR
    ground = _texture(rng, height - horizon, width, ground_colour.astype(np.float32))
    image = np.vstack([np.clip(sky, 0, 255).astype(np.uint8), ground])
    line = rng.choice([[40, 80, 35], [90, 95, 100]])  # trees or buildings
    x = 0
    while x < width:  # the skyline, standing on the horizon
        w, h = int(rng.integers(12, 50)), int(rng.integers(horizon // 6, horizon // 2))
        colour = tuple(int(v) for v in np.clip(line + rng.normal(0, 15, 3), 0, 255))
        if line[0] < 60:
            cv2.ellipse(image, (x + w // 2, horizon), (w // 2 + 4, h), 0, 180, 360, colour, -1)
        else:
            cv2.rectangle(image, (x, horizon - h), (x + w, horizon - 1), colour, -1)
        x += w + int(rng.integers(0, 20))
    for _ in range(int(rng.integers(1, 4))):  # paths and puddles on the ground
        centre = (int(rng.integers(0, width)), int(rng.integers(horizon + 5, height)))
        axes = (int(rng.integers(20, 80)), int(rng.integers(3, 12)))
        colour = tuple(int(v) for v in np.clip(ground_colour * rng.uniform(0.6, 1.3), 0, 255))
        cv2.ellipse(image, centre, axes, 0, 0, 360, colour, -1)
    return image, horizon


def _paste(
    canvas: NDArray[np.uint8],
    labels: NDArray[np.uint16],
    sprite: NDArray[np.uint8],
    at: tuple[int, int],
    label: int,
) -> NDArray[np.float32] | None:
    """Alpha-blend ``sprite`` with its top-left ``at`` (x, y), marking its silhouette ``label``
    in ``labels``; returns its box, None if off-canvas."""
    x, y = at
    h, w = sprite.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return None
    part = sprite[y0 - y : y1 - y, x0 - x : x1 - x]
    alpha = part[..., 3:4].astype(np.float32) / 255.0
    region = canvas[y0:y1, x0:x1]
    region[:] = (part[..., :3] * alpha + region * (1.0 - alpha)).astype(np.uint8)
    labels[y0:y1, x0:x1][part[..., 3] > 0] = label
    ys, xs = np.nonzero(part[..., 3] > 0)
    return np.array(
        [x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1], np.float32
    )


def _room(rng: np.random.Generator, config: SampleConfig, path: _Path) -> _Room:
    """A panorama with objects placed where the camera's path will see them, every class
    at least once (as far as the objects fit without hiding each other)."""
    height = config.height
    draw = _yard if config.scene == "yard" else _background
    panorama, horizon = draw(rng, height, PANORAMA_WIDTHS * config.width)
    labels = np.zeros(panorama.shape[:2], np.uint16)
    seen_from, seen_to = int(path.pan.min()), int(path.pan.max()) + config.width
    count = int(rng.integers(config.objects_per_segment[0], config.objects_per_segment[1] + 1))
    classes = rng.permutation(np.resize(np.array(config.classes, np.int64), count))
    placed: list[tuple[float, float, float, float]] = []
    boxes: list[NDArray[np.float32]] = []
    class_ids: list[int] = []
    # Far objects first, so nearer ones overlap them as they would in a real room.
    feet = np.sort(rng.uniform(horizon + 0.1 * height, 0.98 * height, count))
    for y_foot, class_id in zip(feet, classes.tolist(), strict=True):
        depth = (y_foot - horizon) / (height - horizon)
        sprite = draw_object(class_id, rng, int(config.height * (0.14 + 0.28 * depth)))
        x = int(rng.integers(seen_from, max(seen_from + 1, seen_to - sprite.shape[1])))
        y = int(y_foot) - sprite.shape[0]
        candidate = (x, y, x + sprite.shape[1], y + sprite.shape[0])
        if any(_overlap(candidate, other) > 0.5 for other in placed):
            continue
        box = _paste(panorama, labels, sprite, (x, y), len(boxes) + 1)
        if box is not None:
            placed.append(candidate)
            boxes.append(box)
            class_ids.append(class_id)
    return _Room(
        panorama,
        labels,
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(class_ids, np.int64),
        horizon,
    )


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / smaller


def _camera_path(rng: np.random.Generator, config: SampleConfig) -> _Path:
    """Pan and zoom per frame: drives and pans, with stretches standing still."""
    n = config.frames_per_segment
    still = np.zeros(n, bool)
    still_frames = int(n * config.still_fraction)
    if still_frames:
        start = int(rng.integers(0, n - still_frames))
        still[start : start + still_frames] = True
    speed = rng.uniform(0.006, 0.02) * config.width * (1 if rng.random() < 0.5 else -1)
    pan_speed = np.where(still, 0.0, speed)
    zoom_speed = np.where(still, 0.0, rng.uniform(-0.006, 0.01))
    max_pan = (PANORAMA_WIDTHS - 1) * config.width
    pan = np.clip(np.cumsum(pan_speed) + (0 if pan_speed.sum() >= 0 else max_pan), 0, max_pan)
    return _Path(pan, np.clip(1.0 + np.cumsum(zoom_speed), 0.8, 1.6), still)


def _view(
    room: _Room, path: _Path, i: int, config: SampleConfig
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """The affine map panorama -> frame for frame ``i`` (zoom about the view's centre)."""
    zoom = float(path.zoom[i])
    cx, cy = path.pan[i] + config.width / 2, config.height / 2
    matrix = np.array(
        [[zoom, 0, config.width / 2 - zoom * cx], [0, zoom, config.height / 2 - zoom * cy]],
        np.float32,
    )
    frame = cv2.warpAffine(
        room.panorama,
        matrix,
        (config.width, config.height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    return uint8_image(frame), matrix


def _instance_masks(
    room: _Room,
    matrix: NDArray[np.float32],
    config: SampleConfig,
    pole: tuple[int, int] | None,
    keep: NDArray[np.bool_],
) -> NDArray[np.uint16]:
    """The room's label image seen in the frame (nearest neighbour, nothing beyond the room),
    hidden by the pole, renumbered to the kept boxes."""
    size = (config.width, config.height)
    seen = cv2.warpAffine(
        room.labels, matrix, size, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
    )
    if pole is not None:
        seen[:, pole[0] : pole[1]] = 0
    renumber = np.zeros(len(keep) + 1, np.uint16)
    renumber[np.flatnonzero(keep) + 1] = np.arange(1, int(keep.sum()) + 1)
    masks: NDArray[np.uint16] = renumber[seen]
    return masks


def _visible_boxes(
    boxes: NDArray[np.float32],
    matrix: NDArray[np.float32],
    config: SampleConfig,
    pole: tuple[int, int] | None,
) -> NDArray[np.float32]:
    """Boxes mapped into the frame, trimmed at the frame edge and at the pole; NaN if hidden."""
    mapped: NDArray[np.float32] = boxes.copy()
    mapped[:, [0, 2]] = boxes[:, [0, 2]] * matrix[0, 0] + matrix[0, 2]
    mapped[:, [1, 3]] = boxes[:, [1, 3]] * matrix[1, 1] + matrix[1, 2]
    full_area = (mapped[:, 2] - mapped[:, 0]) * (mapped[:, 3] - mapped[:, 1])
    clipped: NDArray[np.float32] = mapped.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, config.width)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, config.height)
    if pole is not None:
        left, right = pole
        covers_left = (clipped[:, 0] >= left) & (clipped[:, 0] < right)
        covers_right = (clipped[:, 2] > left) & (clipped[:, 2] <= right)
        clipped[covers_left & ~covers_right, 0] = right
        clipped[covers_right & ~covers_left, 2] = left
        hidden = covers_left & covers_right
        clipped[hidden, 2] = clipped[hidden, 0]
    area = (clipped[:, 2] - clipped[:, 0]).clip(0) * (clipped[:, 3] - clipped[:, 1]).clip(0)
    clipped[area < MIN_VISIBLE_FRACTION * full_area] = np.nan
    return clipped


def _motion_blur(image: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    length = int(rng.integers(9, 17))
    line = np.zeros((length, length), np.float32)
    line[length // 2, :] = 1.0 / length
    angle = float(rng.uniform(0, 180))
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
    kernel = cv2.warpAffine(line, rotation, (length, length))
    return uint8_image(cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6)))


def sample_camera(config: SampleConfig, zoom: float = 1.0) -> Intrinsics:
    """The sample camera: square pixels, centred, its zoom a focal length."""
    focal = FOCAL_WIDTHS * config.width * zoom
    return Intrinsics(
        focal, focal, config.width / 2, config.height / 2, config.width, config.height
    )


def _geometry(
    room: _Room,
    matrix: NDArray[np.float32],
    zoom: float,
    config: SampleConfig,
    pole: tuple[int, int] | None,
) -> tuple[Intrinsics, Room, list[Cylinder]]:
    """The frame's camera, room and objects in 3D, consistent with its pixels: the floor's
    depth grows towards the wall row as 1 / (row - vanishing row), NEAR_M at the bottom and
    WALL_M at the horizon; each object is a cylinder whose front stands where its box meets the
    floor, its silhouette the box."""
    camera = sample_camera(config, zoom)
    height = config.height
    vanishing = (WALL_M * room.horizon - NEAR_M * height) / (WALL_M - NEAR_M)
    k = NEAR_M * (height - vanishing)  # depth x (row - vanishing row), panorama pixels
    to_frame = float(matrix[1, 1]), float(matrix[1, 2])
    objects = []
    for x0, y0, x1, y1 in room.boxes.tolist():
        front = k / (y1 - vanishing)  # where its front edge meets the floor
        u0, u1 = x0 * matrix[0, 0] + matrix[0, 2], x1 * matrix[0, 0] + matrix[0, 2]
        v0, v1 = (y * to_frame[0] + to_frame[1] for y in (y0, y1))
        radius = (u1 - u0) / 2 * front / camera.fx
        objects.append(
            Cylinder(
                x=float(((u0 + u1) / 2 - camera.cx) * front / camera.fx),
                z=float(front + radius),
                radius=float(radius),
                top=float((v0 - camera.cy) * front / camera.fy),
                bottom=float((v1 - camera.cy) * front / camera.fy),
            )
        )
    poles = []
    if pole is not None:
        left, right = ((c - camera.cx) * POLE_M / camera.fx for c in pole)
        poles.append(Pole(left, right, POLE_M))
    geometry = Room(
        wall=WALL_M,
        floor=k / (FOCAL_WIDTHS * config.width),
        horizon=vanishing * to_frame[0] + to_frame[1],
        objects=tuple(objects),
        poles=tuple(poles),
    )
    return camera, geometry, objects


def generate_frames(config: SampleConfig) -> Iterator[Frame]:
    """Render the recording frame by frame (constant memory: one room at a time)."""
    rng = np.random.default_rng(config.seed)
    period_ns = round(1e9 / config.fps)
    stamp = config.start_ns
    index = 0
    for segment in range(config.segments):
        path = _camera_path(rng, config)
        room = _room(rng, config, path)
        pole_speed = rng.uniform(4, 9) if rng.random() < 0.6 else 0.0
        pole_width = int(config.width * rng.uniform(0.06, 0.12))
        gain_phase = rng.uniform(0, 2 * np.pi)
        for i in range(config.frames_per_segment):
            image, matrix = _view(room, path, i, config)
            pole = None
            pole_x = int(-pole_width + pole_speed * i)
            if pole_speed and pole_x < config.width:
                pole = (max(pole_x, 0), min(pole_x + pole_width, config.width))
                image[:, pole[0] : pole[1]] = (40, 45, 50)
            gain = 1.0 + 0.25 * np.sin(gain_phase + i / 40.0)
            noise = rng.normal(0, 2.0, image.shape).astype(np.float32)
            image = np.clip(image.astype(np.float32) * gain + noise, 0, 255).astype(np.uint8)
            blurred = bool(not path.still[i] and rng.random() < config.blur_probability)
            if blurred:
                image = _motion_blur(image, rng)
            boxes = _visible_boxes(room.boxes, matrix, config, pole)
            keep = ~np.isnan(boxes[:, 0])
            camera, geometry, objects = _geometry(room, matrix, float(path.zoom[i]), config, pole)
            yield Frame(
                index=index,
                stamp_ns=stamp,
                segment=segment,
                image=image,
                boxes=boxes[keep],
                class_ids=room.class_ids[keep],
                masks=_instance_masks(room, matrix, config, pole, keep),
                blurred=blurred,
                still=bool(path.still[i]),
                camera=camera,
                room=geometry,
                objects=tuple(obj for obj, kept in zip(objects, keep, strict=True) if kept),
            )
            index += 1
            stamp += period_ns
        stamp += int(config.segment_gap_s * 1e9)
