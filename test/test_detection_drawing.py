"""Annotated images: boxes in the class colour where the detections are, labels above them."""

from __future__ import annotations

import cv2
import numpy as np

from odet_ros.detection import Detections, draw_detections
from odet_ros.detection.drawing import class_color, text_color

NAMES = ["cup", "can"]
FONT = cv2.FONT_HERSHEY_SIMPLEX


def grey(h=240, w=320):
    return np.full((h, w, 3), 90, np.uint8)


def test_box_edges_are_drawn_in_the_class_colour_and_the_input_is_kept():
    image = grey()
    detections = Detections.from_arrays(
        [[40, 60, 140, 200], [200, 30, 300, 120]], [0.9, 0.5], [0, 1]
    )
    annotated = draw_detections(image, detections, NAMES)
    assert (image == 90).all()  # drawn on a copy
    np.testing.assert_array_equal(annotated[130, 40], class_color(0))  # left edge of box 0
    np.testing.assert_array_equal(annotated[120, 250], class_color(1))  # bottom edge of box 1
    assert (annotated[100:150, 60:120] == 90).all()  # inside stays clear
    label = annotated[40:60, 40:140]  # the label sits above box 0
    assert (label == class_color(0)).all(axis=2).any() and (label == 255).all(axis=2).any()


def test_label_goes_inside_when_the_box_touches_the_top_and_track_ids_show():
    detections = Detections.from_arrays([[10, 0, 100, 80]], [0.7], [1], track_ids=[42])
    annotated = draw_detections(grey(), detections, NAMES)
    assert (annotated[2:20, 12:90] == text_color(1)).all(axis=2).any()


def test_labels_stay_inside_the_image_at_its_right_and_bottom_edges():
    """Each label's background is drawn whole (as wide as its text, scale 1/3 at 320x240),
    shifted left and up to fit, not cut off at the edge."""
    boxes = [[300, 200, 320, 240], [0, 230, 40, 240]]  # touching the right and bottom edges
    names = ["a_long_class_name", "another_long_name"]
    for class_id in (0, 1):
        one = Detections.from_arrays([boxes[class_id]], [0.9], [class_id])
        annotated = draw_detections(grey(), one, names)
        label = np.all(annotated == class_color(class_id), axis=2)
        x1, y1, x2, y2 = boxes[class_id]
        label[y1 + 1 : y2 - 1, x1 + 1 : x2 - 1] = True  # the inside of the box is not the label
        rows, cols = np.nonzero(label)
        (text_width, _), _ = cv2.getTextSize(f"{names[class_id]} 0.90", FONT, 1 / 3, 1)
        assert cols.max() - cols.min() >= text_width
        assert rows.max() <= 239 and cols.max() <= 319


def test_neighbouring_classes_get_far_apart_colours_and_readable_text():
    colours = np.array([class_color(k, rgb=True) for k in range(10)], np.int64)
    nearest = min(
        np.abs(colours[a] - colours[b]).sum() for a in range(10) for b in range(a + 1, 10)
    )
    assert nearest > 60
    for k in range(20):
        r, g, b = class_color(k, rgb=True)
        luma = 0.299 * r + 0.587 * g + 0.114 * b
        assert abs(luma - sum(text_color(k)) / 3) > 80  # black on light, white on dark


def test_nothing_to_draw_returns_the_image_unchanged():
    image = grey()
    out = draw_detections(image, Detections.empty(), NAMES, copy=False)
    assert out is image and (out == 90).all()


def test_an_rgb_canvas_shows_each_class_in_the_same_colour_as_a_bgr_one():
    detections = Detections.from_arrays([[40, 60, 140, 200]], [0.9], [0])
    bgr = draw_detections(grey(), detections, NAMES)
    rgb = draw_detections(grey(), detections, NAMES, rgb=True)
    np.testing.assert_array_equal(rgb[..., ::-1], bgr)
    assert class_color(0) != class_color(0, rgb=True)
