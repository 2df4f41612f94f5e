"""Sprites of the sample's object classes (the trash-sorting example), drawn with OpenCV.

Each sprite is a BGRA image whose alpha marks the object; its ground-truth box is the bounding
box of the alpha. Colours, proportions and orientation vary with the random generator so a
model has to learn the shape of a class, not one picture of it.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

CLASS_NAMES = ("plastic_bottle", "paper_cup", "drink_can")


def _blank(height: int, width: int) -> NDArray[np.uint8]:
    return np.zeros((height, width, 4), np.uint8)


def _shade_columns(sprite: NDArray[np.uint8], strength: float) -> None:
    """Cylindrical shading: darker at the left and right edges, a highlight left of centre."""
    width = sprite.shape[1]
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    light = 1.0 - strength * x**2 + 0.25 * strength * np.exp(-((x + 0.35) ** 2) / 0.02)
    sprite[..., :3] = np.clip(sprite[..., :3] * light[None, :, None], 0, 255).astype(np.uint8)


def _bottle(rng: np.random.Generator, height: int) -> NDArray[np.uint8]:
    width = max(8, int(height * rng.uniform(0.30, 0.38)))
    s = _blank(height, width)
    body = tuple(int(v) for v in rng.choice([[200, 230, 170], [220, 215, 200], [170, 220, 150]]))
    cap = tuple(int(v) for v in rng.choice([[200, 60, 20], [240, 240, 240], [30, 30, 200]]))
    neck_w, shoulder = max(3, width // 3), int(height * 0.28)
    cx = width // 2
    cv2.rectangle(s, (0, shoulder), (width - 1, height - 1), (*body, 235), -1)
    shoulder_poly = np.array(
        [
            [0, shoulder],
            [cx - neck_w // 2, int(height * 0.12)],
            [cx + neck_w // 2, int(height * 0.12)],
            [width - 1, shoulder],
        ],
        np.int32,
    )
    cv2.fillPoly(s, [shoulder_poly], (*body, 235))
    cv2.rectangle(s, (cx - neck_w // 2, 0), (cx + neck_w // 2, int(height * 0.12)), (*cap, 255), -1)
    label = tuple(int(v) for v in rng.integers(40, 255, 3))
    top = int(height * rng.uniform(0.45, 0.55))
    cv2.rectangle(s, (0, top), (width - 1, top + int(height * 0.2)), (*label, 255), -1)
    _shade_columns(s, 0.45)
    return s


def _cup(rng: np.random.Generator, height: int) -> NDArray[np.uint8]:
    width = max(8, int(height * rng.uniform(0.75, 0.9)))
    s = _blank(height, width)
    colour = tuple(int(v) for v in rng.choice([[245, 245, 245], [110, 160, 200], [235, 235, 225]]))
    bottom_inset = int(width * 0.18)
    body = np.array(
        [
            [0, 0],
            [width - 1, 0],
            [width - 1 - bottom_inset, height - 1],
            [bottom_inset, height - 1],
        ],
        np.int32,
    )
    cv2.fillPoly(s, [body], (*colour, 255))
    sleeve = tuple(int(v) for v in rng.integers(20, 200, 3))
    y0, y1 = int(height * 0.35), int(height * 0.65)
    inset0, inset1 = bottom_inset * y0 // height, bottom_inset * y1 // height
    sleeve_poly = np.array(
        [[inset0, y0], [width - 1 - inset0, y0], [width - 1 - inset1, y1], [inset1, y1]], np.int32
    )
    cv2.fillPoly(s, [sleeve_poly], (*sleeve, 255))
    rim_h = max(2, height // 10)
    cv2.ellipse(
        s, (width // 2, rim_h // 2), (width // 2 - 1, rim_h // 2), 0, 0, 360, (90, 90, 90, 255), -1
    )
    _shade_columns(s, 0.3)
    return s


def _can(rng: np.random.Generator, height: int) -> NDArray[np.uint8]:
    width = max(8, int(height * rng.uniform(0.5, 0.6)))
    s = _blank(height, width)
    colour = tuple(
        int(v) for v in rng.choice([[30, 30, 210], [200, 80, 20], [40, 160, 40], [20, 20, 20]])
    )
    top_h = max(2, height // 8)
    cv2.rectangle(s, (0, top_h // 2), (width - 1, height - 1 - top_h // 2), (*colour, 255), -1)
    cv2.ellipse(
        s,
        (width // 2, height - 1 - top_h // 2),
        (width // 2 - 1, top_h // 2),
        0,
        0,
        360,
        (*colour, 255),
        -1,
    )
    cv2.ellipse(
        s,
        (width // 2, top_h // 2),
        (width // 2 - 1, top_h // 2),
        0,
        0,
        360,
        (200, 200, 205, 255),
        -1,
    )
    stripe = int(height * rng.uniform(0.4, 0.6))
    cv2.rectangle(
        s, (0, stripe), (width - 1, stripe + max(2, height // 12)), (230, 230, 230, 255), -1
    )
    _shade_columns(s, 0.6)
    return s


_DRAWERS = (_bottle, _cup, _can)


def draw_object(class_id: int, rng: np.random.Generator, height: int) -> NDArray[np.uint8]:
    """A BGRA sprite of class ``class_id``, ``height`` pixels tall before any rotation.

    Bottles and cans sometimes lie on their side (rotated by 90 degrees).
    """
    sprite = _DRAWERS[class_id](rng, height)
    if class_id != 1 and rng.random() < 0.3:
        sprite = np.ascontiguousarray(np.rot90(sprite, 1 if rng.random() < 0.5 else 3))
    return sprite
