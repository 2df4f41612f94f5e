"""How alike two frames look: one place across a pan or a change of light stays one view, another
place does not; near twins are found once aligned, and only those."""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np
import pytest
from support.sampling import scene

from odet_ros.sample.scene import SampleConfig, generate_frames
from odet_ros.sampling.similarity import (
    NEAR_TWIN,
    SAME_VIEW,
    aligned_difference,
    near_twins,
    twin_signature,
    twin_thumbnail,
    view_distance,
    view_signature,
)

CONFIG = SampleConfig(seed=5, segments=3, frames_per_segment=45, width=160, height=120)


def _panned(image: np.ndarray, pixels: int) -> np.ndarray:
    """The view a small pan to the right gives: the same scene shifted, its edge repeated."""
    shift = np.float32([[1, 0, -pixels], [0, 1, 0]])
    return cv2.warpAffine(image, shift, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


def _brighter(image: np.ndarray, by: int) -> np.ndarray:
    return np.clip(image.astype(np.int16) + by, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def places() -> list[list[np.ndarray]]:
    """The sample's frames, by segment (each segment is another place)."""
    frames: list[list[np.ndarray]] = [[] for _ in range(CONFIG.segments)]
    for frame in generate_frames(CONFIG):
        frames[frame.segment].append(frame.image)
    return frames


def test_frames_a_second_apart_in_one_place_are_one_view_and_other_places_are_not(places):
    """What the export's chain compares: each kept frame (one a second, at the capture node's
    defaults) with the one before it."""
    seconds = round(CONFIG.fps)
    signatures = [[view_signature(image) for image in place[::seconds]] for place in places]
    within = [view_distance(a, b) for place in signatures for a, b in pairwise(place)]
    across = [
        view_distance(a, b)
        for i, place in enumerate(signatures)
        for other in signatures[i + 1 :]
        for a in place
        for b in other
    ]
    assert max(within) < SAME_VIEW < min(across)


def test_a_pan_keeps_the_view_a_new_scene_does_not():
    image = scene(1)
    signature = view_signature(image)
    assert view_distance(signature, signature) == pytest.approx(0.0, abs=1e-3)
    assert view_distance(signature, view_signature(_panned(image, 20))) < SAME_VIEW
    assert view_distance(signature, view_signature(scene(2))) > SAME_VIEW


def test_grey_and_bgra_frames_have_the_signature_of_their_colour_frame():
    image = scene(3)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    assert np.array_equal(view_signature(bgra), view_signature(image))
    assert np.array_equal(
        view_signature(grey), view_signature(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    )
    assert view_signature(image).sum() == pytest.approx(1.0)


def test_near_twins_survive_a_small_pan_and_a_change_of_exposure():
    image = scene(4)
    thumbnail = twin_thumbnail(image)
    assert aligned_difference(thumbnail, twin_thumbnail(_panned(image, 12))) < NEAR_TWIN
    assert aligned_difference(thumbnail, twin_thumbnail(_brighter(image, 30))) < NEAR_TWIN
    assert aligned_difference(thumbnail, twin_thumbnail(scene(5))) > NEAR_TWIN
    brighter = twin_signature(_brighter(image, 30))
    assert view_distance(twin_signature(image), brighter) < SAME_VIEW


def test_near_twins_pairs_each_planted_twin_with_its_reference_and_nothing_else(places):
    references = [places[0][0], places[1][0], places[2][0]]
    queries = [
        places[2][3],  # the third place a few frames on: the camera barely moved
        _brighter(places[0][0], 25),  # the first place's frame again, brighter
        places[1][-1],  # the second place at the end of its pan: another view of it
        scene(6),  # nowhere in the references
    ]

    def views(images):
        return (
            np.stack([twin_signature(i) for i in images]),
            np.stack([twin_thumbnail(i) for i in images]),
        )

    found = near_twins(views(queries), views(references))
    assert [(query, reference) for query, reference, _ in found] == [(0, 2), (1, 0)]
    assert all(difference < NEAR_TWIN for *_, difference in found)
    nothing = (np.zeros((0, 512), np.float32), np.zeros((0, 48, 64), np.float32))
    assert near_twins(views(queries), nothing) == []
