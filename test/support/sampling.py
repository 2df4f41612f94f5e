"""Synthetic camera frames with known defects (blur, near-duplicates), for the sampler and
the capture tests."""

from __future__ import annotations

import cv2
import numpy as np


def scene(seed: int, size: tuple[int, int] = (240, 320)) -> np.ndarray:
    """A sharp BGR frame of random filled rectangles; each seed is a different view."""
    rng = np.random.default_rng(seed)
    height, width = size
    image = np.full((height, width, 3), 127, np.uint8)
    for _ in range(40):
        x, y = (int(v) for v in rng.integers(0, (width, height)))
        w, h = (int(v) for v in rng.integers(8, (width // 3, height // 3)))
        color = [int(c) for c in rng.integers(0, 256, 3)]
        cv2.rectangle(image, (x, y), (x + w, y + h), color, -1)
    return image


def blurred(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), 4)


def noisy_copy(image: np.ndarray, seed: int) -> np.ndarray:
    """The same view with sensor-like noise: a near-duplicate."""
    noise = np.random.default_rng(seed).normal(0, 2, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)
