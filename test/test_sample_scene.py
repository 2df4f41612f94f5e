"""The sample recording: deterministic, ground truth inside the frames, the promised defects."""

from itertools import pairwise

import cv2
import numpy as np

from odet_ros.sample.objects import CLASS_NAMES
from odet_ros.sample.scene import SampleConfig, generate_frames
from odet_ros.sampling import assess
from odet_ros.sampling.quality import difference

CONFIG = SampleConfig(seed=3, segments=3, frames_per_segment=40, width=160, height=120)


def _frames(config=CONFIG):
    return list(generate_frames(config))


def _difference(a, b):
    """The change the capture and export sampler measures (grey thumbnails)."""
    return difference(assess(a.image).thumbnail, assess(b.image).thumbnail)


def _sharpness(image):
    return cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()


def test_same_seed_same_frames_other_seed_differs():
    a, b = _frames(), _frames()
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    assert all(np.array_equal(x.boxes, y.boxes) for x, y in zip(a, b, strict=True))
    other = _frames(SampleConfig(seed=4, segments=1, frames_per_segment=40, width=160, height=120))
    assert not np.array_equal(a[0].image, other[0].image)


def test_frames_are_stamped_like_a_camera_with_gaps_between_segments():
    frames = _frames()
    stamps = np.array([f.stamp_ns for f in frames])
    steps = np.diff(stamps)
    period = round(1e9 / CONFIG.fps)
    assert len(frames) == CONFIG.segments * CONFIG.frames_per_segment
    assert np.all(steps > 0)
    assert np.sum(steps > 10 * period) == CONFIG.segments - 1
    assert np.all(steps[steps <= 10 * period] == period)


def test_ground_truth_boxes_lie_inside_the_frame_and_cover_every_class():
    frames = _frames()
    boxes = np.concatenate([f.boxes for f in frames])
    classes = np.concatenate([f.class_ids for f in frames])
    assert len(boxes) > 50
    assert np.all(boxes[:, :2] >= 0)
    assert np.all(boxes[:, 2] <= CONFIG.width)
    assert np.all(boxes[:, 3] <= CONFIG.height)
    assert np.all(boxes[:, 2:] > boxes[:, :2])
    assert set(classes.tolist()) == set(range(len(CLASS_NAMES)))


def test_boxes_enclose_the_drawn_objects():
    """Pixels inside a box differ from the surrounding background more than pixels outside."""
    frame = next(f for f in _frames() if len(f.boxes) and not f.blurred)
    x0, y0, x1, y1 = frame.boxes[0].round().astype(int)
    grey = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    inside = grey[y0:y1, x0:x1]
    assert inside.size > 0
    assert inside.std() > 5


def test_instance_masks_are_the_pixels_each_object_shows():
    """Each box's mask lies in its box and on pixels that differ from the background: where
    two objects overlap, the nearer one's; where the pole passes, neither."""
    frames = [f for f in _frames() if not f.blurred]
    shown = hidden = 0
    for frame in frames:
        assert frame.masks.shape == frame.image.shape[:2] and frame.masks.dtype == np.uint16
        assert frame.masks.max() <= len(frame.boxes)
        for index, box in enumerate(frame.boxes):
            rows, columns = np.nonzero(frame.masks == index + 1)
            if not len(rows):
                hidden += 1
                continue
            shown += 1
            x0, y0, x1, y1 = box
            assert columns.min() >= np.floor(x0) - 1 and columns.max() < np.ceil(x1) + 1
            assert rows.min() >= np.floor(y0) - 1 and rows.max() < np.ceil(y1) + 1
    assert shown > 50 and hidden <= 0.05 * shown
    # the outlines sit on the image's edges: more edge pixels along them than along the same
    # outlines moved a few pixels aside
    on, aside = [], []
    for frame in frames[::5]:
        edges = cv2.Canny(frame.image, 40, 120) > 0
        for shift in (0, 5):
            objects = np.roll(frame.masks > 0, shift, axis=1).astype(np.uint8)
            ring = cv2.dilate(objects, np.ones((3, 3))) ^ cv2.erode(objects, np.ones((3, 3)))
            (on if shift == 0 else aside).append(edges[ring > 0].mean() if ring.any() else 0)
    assert np.mean(on) > 1.5 * np.mean(aside)


def test_still_stretches_are_near_duplicates_and_blurred_frames_are_blurred():
    frames = _frames()
    same_segment = [(a, b) for a, b in pairwise(frames) if a.segment == b.segment]
    still_pairs = [(a, b) for a, b in same_segment if a.still and b.still]
    moving_pairs = [(a, b) for a, b in same_segment if not a.still and not b.still]
    assert still_pairs and moving_pairs
    still = np.array([_difference(a, b) for a, b in still_pairs])
    moving = np.array([_difference(a, b) for a, b in moving_pairs])
    # Standing still, consecutive frames are near-identical unless the pole passes by.
    assert np.mean(still < 1.0) > 0.3
    assert np.mean(moving < 1.0) < 0.05
    blurred = [f for f in frames if f.blurred]
    sharp = [f for f in frames if not f.blurred]
    assert blurred
    assert np.median([_sharpness(f.image) for f in blurred]) < 0.5 * np.median(
        [_sharpness(f.image) for f in sharp]
    )
