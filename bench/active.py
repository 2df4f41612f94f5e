"""Does the deployed model ask for the frames worth labelling? Its picks within a budget against
period sampling and random picks, on patrols of familiar places with short stretches of new
conditions, for a less-confident first model.

1. A first model (YOLO11n from its YAML, ``EPOCHS`` epochs: a less-confident model, its median
   top score on familiar frames about 0.75) is trained by `odet train` on an easy recording of
   8 places: two classes, normal conditions, the sample's rooms (``--scene rooms``) or outdoor
   yards (``--scene yard``). Its bundle carries its score statistics and training views, as
   every bundle `odet train` writes.
2. A field recording patrols the places it was trained on (the first 6; the last 2 were its
   validation) ``PASSES`` times, driven the other way (mirrored) with fresh sensor noise, and
   holds 6 short stretches of new conditions, one place each (40 frames at 15 fps, 2.7 s):
   rooms: 2 at night, 2 behind occluding boards, 2 with the class it never saw; yard: 2 at
   dusk, 2 in fog, 2 with the unseen class; all in a shuffled order.
3. ``BUDGET`` frames are asked for over the recording, as `odet bag select --budget` spreads
   them: by the selection (configured from the bundle by
   :func:`odet_ros.selection.configure.configure_selection`, the code `odet bag select` and
   capture_node ``select:=`` run) with each reason alone, with the fixed band 0.25-0.6 of
   earlier versions, with the README's settings and with them but ``trained_view`` 0 (frames
   of the trained views kept too, as before it existed); by period sampling (evenly spaced, from
   ``PHASES`` starting points, averaged: one start is one lucky or unlucky draw); and by random
   picks (``RANDOM_DRAWS`` draws, averaged).

Figures per pick: ``frames``, ``new_share`` (of its frames from new conditions),
``x_recording`` (new_share over the recording's), ``x_period`` (over period sampling's) and
``stretches`` (new-condition stretches with at least one frame, of 6); and the first model's
``median_top_score`` on the familiar frames of the field and ``map50`` on its validation split.

``--retrain``: the README pick, period sampling and one random pick are labelled from the
sample's ground truth, added to the easy training set, the first model fine-tuned on each
(``RETRAIN_EPOCHS``), and mAP50 measured on a held-out recording of the new conditions.

``--exposure 0.85``: the familiar passes at 0.85 times the training footage's exposure (another
time of day): "familiar" then no longer looks like the training views.

Run: ``.venv/bin/python bench/active.py [--scene yard] [--seeds 0 1 2] [--retrain] [--exposure
G]`` (about 2 minutes a seed on 2 cores, the first model trained once per scene and seed and
kept in ``.cache/bench-active/``; ``--retrain`` about 4 minutes more a seed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from odet_ros.cli.main import main
from odet_ros.dataset.annotations import write_label_file
from odet_ros.dataset.layout import Dataset
from odet_ros.detection.bundle import ModelBundle
from odet_ros.detection.detector import load_detector
from odet_ros.detection.types import Detections
from odet_ros.sample.objects import CLASS_NAMES
from odet_ros.sample.scene import Frame, SampleConfig, generate_frames
from odet_ros.selection.configure import configure_selection
from odet_ros.selection.profile import SCORE_FLOOR

ROOM = {"frames_per_segment": 40, "width": 160, "height": 120}
PLACES = 8  # of the easy recording; the last VALIDATION of them validate the first model
VALIDATION = 2
PASSES = 3  # of the patrol over the trained places
NEW = {"rooms": ("dark", "occluded", "new_class"), "yard": ("dark", "fog", "new_class")}
BUDGET = 15
RANDOM_DRAWS = 20
PHASES = 10  # period sampling, started at this many points of its first step
FPS = 15.0
GAP_NS = 3_000_000_000  # between places
EPOCHS = 9
RETRAIN_EPOCHS = 9
CACHE = Path(__file__).resolve().parents[1] / ".cache" / "bench-active"
PROFILE_VERSION = 2  # bump when what odet train writes into the bundle changes
README = "unsure,blind,novel"  # the reasons the README recommends
PICKS = {  # name: (select, fixed band, trained_view; None: the default)
    "unsure": ("unsure", None, None),
    "blind": ("blind", None, None),
    "novel": ("novel", None, None),
    "unstable": ("unstable", None, None),
    "all": ("all", None, None),
    "unsure_fixed_band": ("unsure", (0.25, 0.6), 0.0),  # as earlier versions chose
    "all_fixed_band": ("all", (0.25, 0.6), 0.0),
    "readme_trained_view_off": (README, None, 0.0),
    "readme": (README, None, None),
}


@dataclass(frozen=True)
class Shot:
    """A frame as the robot's camera saw it, with its ground truth."""

    name: str
    image: np.ndarray
    boxes: np.ndarray
    class_ids: np.ndarray
    condition: str
    stretch: str


def easy(scene: str, seed: int) -> SampleConfig:
    return SampleConfig(seed=11 + 100 * seed, segments=PLACES, classes=(0, 1), scene=scene, **ROOM)


def new_class(scene: str, seed: int) -> SampleConfig:
    """Places with the class the first model never saw (drink cans) only."""
    return SampleConfig(seed=15 + 100 * seed, segments=4, classes=(2,), objects_per_segment=(2, 4),
                        scene=scene, **ROOM)  # fmt: skip


def stretches(
    config: SampleConfig,
    condition: str,
    places: range | tuple[int, ...],
    pass_: int,
    seed: int,
    exposure: float = 1.0,
) -> list[list[Shot]]:
    """The frames of ``places`` of ``config`` in ``condition``, place by place; ``pass_`` > 0:
    driven the other way (mirrored), with fresh sensor noise; ``exposure`` scales the pixels
    (another time of day, another camera gain)."""
    rng = np.random.default_rng(seed * 1000 + pass_)
    found: dict[int, list[Shot]] = {}
    for frame in generate_frames(config):
        if frame.segment not in places:
            continue
        image, boxes = _condition(frame, condition, rng), frame.boxes
        if pass_:
            image, boxes = _mirrored(image, boxes, rng)
        if exposure != 1.0:
            image = np.clip(image * np.float32(exposure), 0, 255).astype(np.uint8)
        label = f"{condition}{pass_}_{config.seed}_{frame.segment}"
        shot = Shot(f"{label}_{frame.index:05d}.png", image, boxes, frame.class_ids, condition,
                    label)  # fmt: skip
        found.setdefault(frame.segment, []).append(shot)
    return list(found.values())


def _condition(frame: Frame, condition: str, rng: np.random.Generator) -> np.ndarray:
    image = frame.image.astype(np.float32)
    if condition == "dark":
        image = image * 0.3 + rng.normal(0, 4, image.shape)
    elif condition == "fog":
        image = image * 0.35 + 175 * 0.65 + rng.normal(0, 2, image.shape)
    elif condition == "occluded":
        height, width = image.shape[:2]
        board = np.random.default_rng(frame.segment)  # the same boards through a place
        for _ in range(2):
            x = int(board.integers(0, width - width // 5))
            image[height // 3 :, x : x + width // 5] = board.uniform(60, 200, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def _mirrored(
    image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    width = image.shape[1]
    noisy = np.clip(image[:, ::-1] + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    mirrored = boxes.copy()
    mirrored[:, [0, 2]] = width - boxes[:, [2, 0]]
    return noisy, mirrored


def field_recording(scene: str, seed: int, exposure: float = 1.0) -> list[Shot]:
    """The patrol: every pass over the trained places (at ``exposure`` times the training
    footage's) and the new-condition stretches, shuffled."""
    config, trained = easy(scene, seed), range(PLACES - VALIDATION)
    first, second, unseen = NEW[scene]
    parts = [s for p in range(PASSES)
             for s in stretches(config, "normal", trained, p + 1, seed, exposure)]  # fmt: skip
    parts += stretches(config, first, (0, 1), PASSES + 1, seed)
    parts += stretches(config, second, (2, 3), PASSES + 2, seed)
    parts += stretches(new_class(scene, seed), unseen, (0, 1), 0, seed)
    order = np.random.default_rng(seed).permutation(len(parts))
    return [shot for index in order for shot in parts[index]]


def held_out(scene: str, seed: int) -> list[Shot]:
    """New conditions in places of their own, for the retrained models' mAP."""
    config = easy(scene, seed)
    first, second, unseen = NEW[scene]
    return [shot for part in (stretches(config, first, (4, 5), 7, seed),
                              stretches(config, second, (6, 7), 8, seed),
                              stretches(new_class(scene, seed), unseen, (2, 3), 0, seed))
            for place in part for shot in place]  # fmt: skip


def stamps(shots: list[Shot]) -> list[int]:
    """Camera stamps: frames at FPS, a pause between places."""
    found, stamp, previous = [], 0, None
    for shot in shots:
        if previous is not None:
            stamp += round(1e9 / FPS) + (GAP_NS if shot.stretch != previous else 0)
        found.append(stamp)
        previous = shot.stretch
    return found


def write_dataset(root: Path, splits: dict[str, list[Shot]]) -> Path:
    dataset = Dataset.create(root)
    for split, shots in splits.items():
        for shot in shots:
            cv2.imwrite(str(dataset.image_path(shot.name)), shot.image)
            height, width = shot.image.shape[:2]
            xyxy = shot.boxes / np.array([width, height, width, height], np.float32)
            write_label_file(dataset, shot.name, shot.class_ids, xyxy.astype(np.float64))
        lines = "".join(f"{dataset.image_path(s.name)}\n" for s in shots)
        dataset.split_list(split).write_text(lines)
    dataset.write_data_yaml(list(CLASS_NAMES))
    return root


def train(data: Path, model: str, epochs: int, out: Path, name: str) -> Path:
    argv = ["train", "--data", str(data), "--model", model, "--epochs", str(epochs),
            "--imgsz", "160", "--batch", "16", "--device", "cpu", "--optimizer", "AdamW",
            "--lr0", "0.004", "--workers", "0", "--project", str(out), "--name", name]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        if main(argv) != 0:
            raise SystemExit(f"training {name} failed")
    return out / name / "bundle"


def map50(bundle: Path, data: Path, out: Path, split: str = "test") -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        main(["eval", str(bundle), str(data), "--split", split, "--out", str(out)])
    return float(json.loads((out / "metrics.json").read_text())["overall"]["map50"])


def first_model(scene: str, seed: int, work: Path) -> tuple[Path, list[Shot], list[Shot]]:
    """The first model's bundle (trained, or from the cache) and its train and val shots."""
    shots = [s for place in stretches(easy(scene, seed), "normal", range(PLACES), 0, seed)
             for s in place]  # fmt: skip
    held = len(shots) * VALIDATION // PLACES
    train_shots, val_shots = shots[:-held], shots[-held:]
    cache = CACHE / f"{scene}-seed{seed}-epochs{EPOCHS}-profile{PROFILE_VERSION}"
    if not (cache / "bundle").is_dir():
        data = write_dataset(work / "first", {"train": train_shots, "val": val_shots})
        trained = train(data, "yolo11n.yaml", EPOCHS, work / "runs", "first")
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copytree(trained, cache / "bundle", dirs_exist_ok=True)
    return cache / "bundle", train_shots, val_shots


def select(
    bundle: Path,
    field: list[Shot],
    found: list[Detections],
    reasons: str,
    band: tuple | None,
    trained_view: float | None,
) -> list[Shot]:
    """The frames the first model asks for, BUDGET spread over the recording."""
    times = stamps(field)
    minutes = (times[-1] - times[0]) / 60e9
    low, high = band or (0.0, 0.0)
    values = {"select": reasons, "unsure_low": low, "unsure_high": high,
              "budget": BUDGET, "per_minute": BUDGET / minutes}  # fmt: skip
    if trained_view is not None:
        values["trained_view"] = trained_view
    chooser = configure_selection(values, bundle).selector()
    return [shot for shot, stamp, boxes in zip(field, times, found, strict=True)
            if chooser.offer(stamp, boxes, shot.image).keep]  # fmt: skip


def figures(picked: list[Shot], recording: float, period: float) -> dict[str, float]:
    share = new_share(picked)
    return {
        "frames": len(picked),
        "new_share": share,
        "x_recording": share / recording,
        "x_period": share / period if period else float("nan"),
        "stretches": len({s.stretch for s in picked if s.condition != "normal"}),
    }


def mean_figures(picks: list[list[Shot]], recording: float, period: float) -> dict[str, float]:
    """The figures of several picks, averaged."""
    every = [figures(picked, recording, period) for picked in picks]
    return {key: float(np.mean([f[key] for f in every])) for key in every[0]}


def new_share(shots: list[Shot]) -> float:
    return float(np.mean([s.condition != "normal" for s in shots])) if shots else 0.0


def run(
    scene: str, seed: int, retrain: bool, work: Path, exposure: float = 1.0
) -> dict[str, dict[str, float]]:
    bundle, train_shots, val_shots = first_model(scene, seed, work)
    field = field_recording(scene, seed, exposure)
    detector = load_detector(bundle, conf=SCORE_FLOOR)
    found = [detector.detect(shot.image, "bgr8") for shot in field]
    familiar = [d for d, s in zip(found, field, strict=True) if s.condition == "normal"]
    recording = new_share(field)
    step = len(field) / BUDGET
    phases = [[field[int(phase * step / PHASES + k * step)] for k in range(BUDGET)]
              for phase in range(PHASES)]  # fmt: skip
    period, period_share = phases[0], float(np.mean([new_share(p) for p in phases]))
    top_scores = [float(d.scores.max()) if len(d) else 0.0 for d in familiar]
    results: dict[str, dict[str, float]] = {
        "first_model": {
            "median_top_score": float(np.median(top_scores)),
            "map50": float(ModelBundle.load(bundle).metrics.get("map50", float("nan"))),
        },
        "recording": {"frames": len(field), "new_share": recording,
                      "stretches": len({s.stretch for s in field if s.condition != "normal"})},
        "period": mean_figures(phases, recording, period_share),
    }  # fmt: skip
    rng = np.random.default_rng(seed)
    draws = [[field[i] for i in sorted(rng.choice(len(field), BUDGET, replace=False))]
             for _ in range(RANDOM_DRAWS)]  # fmt: skip
    results["random"] = mean_figures(draws, recording, period_share)
    picks = {name: select(bundle, field, found, *setting) for name, setting in PICKS.items()}
    for name, picked in picks.items():
        results[name] = figures(picked, recording, period_share)
    if retrain:
        test = held_out(scene, seed)
        for name, picked in (("period", period), ("random", draws[0]), ("readme", picks["readme"])):
            data = write_dataset(work / name, {"train": train_shots + picked, "val": val_shots,
                                               "test": test})  # fmt: skip
            retrained = train(data, str(bundle), RETRAIN_EPOCHS, work / "runs", name)
            results[name]["map50_new_conditions"] = map50(retrained, data, work / f"eval_{name}")
        results["first_model"]["map50_new_conditions"] = map50(bundle, data, work / "eval_first")
    return results


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scene", choices=sorted(NEW), default="rooms")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--exposure", type=float, default=1.0,
                        help="the patrol's familiar passes at this times the training footage's"
                        " exposure (default 1)")  # fmt: skip
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    every = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="odet-bench-active-") as folder:
            results = run(args.scene, seed, args.retrain, Path(folder), args.exposure)
        every.append(results)
        for pick, values in results.items():
            for key, value in values.items():
                print(f"seed{seed}_{pick}_{key}: {value:.3f}")
    for pick in every[0]:
        for key in every[0][pick]:
            values = [r[pick][key] for r in every]
            print(f"{args.scene}_{pick}_{key}: {np.mean(values):.3f} (min {min(values):.3f})")


if __name__ == "__main__":
    main_bench()
