"""Does it help to let the deployed model choose what to label? Period sampling against the
selection (:mod:`odet_ros.selection`), same number of labelled frames, same retraining.

1. A first model (YOLO11n from its YAML) is trained on an easy recording of the sample scene:
   normal light, no occlusion, two of the three classes.
2. A field recording of 20 rooms, 14 of them like the easy ones and 6 of what the first model
   has not seen (2 dark, 2 behind occluding boards, 2 with the third class, drink_can), in a
   shuffled order. ``--scenario tour`` (default): every room is a new place. ``--scenario
   patrol``: the robot patrols the easy recording's site (its rooms driven through the other
   way, with fresh sensor noise; some at night or behind boards) and finds a new area with
   the new class: most frames show what the model already knows.
3. ``BUDGET`` frames are picked from it three times: evenly spaced (period sampling, what
   capture does without ``select``), by the first model's selection with every reason (unsure,
   unstable, novel: ``select:=all``), and by its unsure reason alone (``select:=unsure``); the
   budget spread over the recording, as `odet bag select --budget` does. Period sampling is
   drawn twice, the second offset by half a step, so the run shows how far two equally good
   picks land apart (the noise of one retraining).
4. Each pick is labelled (the sample's ground truth: a perfect annotator), added to the easy
   training set, and the first model is fine-tuned on it, the same epochs and settings.
5. Each is evaluated on a held-out recording of the new conditions only (COCO mAP50): other
   places (tour) or other rooms of the site (patrol).

Figures: ``first_model_map50`` (before), ``period_map50``, ``period_offset_map50``,
``selection_map50`` (all reasons), ``unsure_map50``, their ratios to period sampling, and for
each pick the share of new-condition frames and the rooms it covers.

Run: ``.venv/bin/python bench/active.py [--scenario patrol]`` (about 10 minutes on 2 cores;
``--seed N`` for another draw of the recordings and the room order). One run trains five small
models (the first is kept in ``.cache/bench-active/`` for the next run): expect a few points of
noise between seeds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from odet_ros.cli.main import main
from odet_ros.dataset.annotations import write_label_file
from odet_ros.dataset.layout import Dataset
from odet_ros.detection.detector import load_detector
from odet_ros.sample.objects import CLASS_NAMES
from odet_ros.sample.scene import Frame, SampleConfig, generate_frames
from odet_ros.selection import REASONS, FrameSelector, SelectionSettings

SIZE = {"width": 160, "height": 120}
ROOM = {"frames_per_segment": 40, **SIZE}
EASY = SampleConfig(seed=11, segments=8, classes=(0, 1), **ROOM)


def places(seed: int, rooms: int, classes: tuple[int, ...] = (0, 1)) -> SampleConfig:
    """Rooms the robot has not been to (``classes`` (2,): drink cans only)."""
    objects = (2, 4) if classes == (2,) else EASY.objects_per_segment
    return SampleConfig(seed=seed, segments=rooms, classes=classes, objects_per_segment=objects,
                        **ROOM)  # fmt: skip


@dataclass(frozen=True)
class Part:
    """Rooms of a recording: ``config``'s rooms (``only`` some of them) in ``condition``;
    ``revisit`` > 0: driven through the other way (mirrored) with fresh sensor noise."""

    condition: str
    config: SampleConfig
    only: tuple[int, ...] | None = None
    revisit: int = 0


# "tour": every room of the field is a new place; mostly normal, a few of each new condition.
# "patrol": the field is the easy recording's site again (the robot patrols where its first
# data came from), a few rooms at night or behind boards, and a new area with the new class.
SCENARIOS = {
    "tour": {
        "field": [Part("normal", places(12, 14)), Part("dark", places(13, 2)),
                  Part("occluded", places(14, 2)), Part("new_class", places(15, 2, (2,)))],
        "test": [Part("dark", places(17, 2)), Part("occluded", places(18, 2)),
                 Part("new_class", places(19, 2, (2,)))],
    },
    "patrol": {
        "field": [Part("normal", EASY, revisit=1), Part("normal", EASY, (0, 2, 4, 5, 6, 7), 2),
                  Part("dark", EASY, (0, 1), 3), Part("occluded", EASY, (2, 3), 4),
                  Part("new_class", places(15, 2, (2,)))],
        "test": [Part("dark", EASY, (4, 5), 5), Part("occluded", EASY, (6, 7), 6),
                 Part("new_class", places(18, 2, (2,)))],
    },
}  # fmt: skip
BUDGET = 40
CACHE = Path(__file__).resolve().parents[1] / ".cache" / "bench-active"
EPOCHS = 40
RETRAIN_EPOCHS = 15
ROOM_GAP_NS = 3_000_000_000


@dataclass(frozen=True)
class Shot:
    """A frame as the robot's camera saw it, with its ground truth."""

    name: str
    image: np.ndarray
    boxes: np.ndarray
    class_ids: np.ndarray
    condition: str
    room: str


def rooms(part: Part, prefix: str, seed: int = 0) -> list[list[Shot]]:
    """The part's frames room by room (``seed`` shifts the config's: another draw)."""
    config = replace(part.config, seed=part.config.seed + seed)
    rng = np.random.default_rng(config.seed + 100 + 1000 * part.revisit)
    label = f"{prefix}_{part.condition}{part.revisit or ''}"
    found: dict[int, list[Shot]] = {}
    for frame in generate_frames(config):
        if part.only is not None and frame.segment not in part.only:
            continue
        image, boxes = _condition(frame, part.condition, rng), frame.boxes
        if part.revisit:
            image, boxes = _revisit(image, boxes, rng)
        shot = Shot(f"{label}_{frame.index:05d}.png", image, boxes, frame.class_ids,
                    part.condition, f"{label}_{frame.segment}")  # fmt: skip
        found.setdefault(frame.segment, []).append(shot)
    return list(found.values())


def _revisit(
    image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The view from the way back: mirrored, with fresh sensor noise."""
    width = image.shape[1]
    noisy = np.clip(image[:, ::-1] + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    mirrored = boxes.copy()
    mirrored[:, [0, 2]] = width - boxes[:, [2, 0]]
    return noisy, mirrored


def field_recording(parts: list[Part], prefix: str, seed: int) -> list[Shot]:
    """The parts' rooms in a shuffled order, one recording."""
    every = [room for part in parts for room in rooms(part, prefix, seed)]
    order = np.random.default_rng(seed).permutation(len(every))
    return [shot for index in order for shot in every[index]]


def _condition(frame: Frame, condition: str, rng: np.random.Generator) -> np.ndarray:
    image = frame.image.astype(np.float32)
    if condition == "dark":
        image = image * 0.3 + rng.normal(0, 4, image.shape)
    elif condition == "occluded":
        height, width = image.shape[:2]
        board = np.random.default_rng(frame.segment)  # the same boards through a room
        for _ in range(2):
            x = int(board.integers(0, width - width // 5))
            image[height // 3 :, x : x + width // 5] = board.uniform(60, 200, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def stamps(shots: list[Shot], fps: float) -> list[int]:
    """Camera stamps for a recording: frames at ``fps``, a pause between rooms."""
    found, stamp, previous = [], 0, None
    for shot in shots:
        if previous is not None:
            stamp += round(1e9 / fps) + (ROOM_GAP_NS if shot.room != previous else 0)
        found.append(stamp)
        previous = shot.room
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


def map50(bundle: Path, data: Path, out: Path) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        main(["eval", str(bundle), str(data), "--split", "test", "--out", str(out)])
    return float(json.loads((out / "metrics.json").read_text())["overall"]["map50"])


def select(bundle: Path, field: list[Shot], reasons: tuple[str, ...]) -> list[Shot]:
    """The frames the first model asks for, the budget spread over the recording."""
    detector = load_detector(bundle, conf=0.25)
    times = stamps(field, EASY.fps)
    minutes = (times[-1] - times[0]) / 60e9
    settings = SelectionSettings(reasons=reasons, per_minute=BUDGET / minutes, total=BUDGET)
    chooser = FrameSelector(settings)
    picked = []
    for shot, stamp in zip(field, times, strict=True):
        found = detector.detect(shot.image, "bgr8")
        if chooser.offer(stamp, found, shot.image).keep:
            picked.append(shot)
    return picked


def new_share(shots: list[Shot]) -> float:
    return float(np.mean([s.condition != "normal" for s in shots])) if shots else 0.0


def run(seed: int, scenario: str, work: Path) -> dict[str, float]:
    easy = [shot for room in rooms(Part("normal", EASY), "easy", seed) for shot in room]
    field = field_recording(SCENARIOS[scenario]["field"], "field", seed)
    test = field_recording(SCENARIOS[scenario]["test"], "test", seed)
    held = len(easy) // 5  # the last rooms of the easy recording validate
    easy_train, easy_val = easy[:-held], easy[-held:]

    first_data = write_dataset(work / "first", {"train": easy_train, "val": easy_val,
                                                "test": test})  # fmt: skip
    cache = CACHE / f"first-seed{seed}-epochs{EPOCHS}"
    if not (cache / "bundle").is_dir():  # the first model is the same on every run: keep it
        trained = train(first_data, "yolo11n.yaml", EPOCHS, work / "runs", "first")
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copytree(trained, cache / "bundle", dirs_exist_ok=True)
    first = cache / "bundle"
    figures: dict[str, float] = {
        "first_model_map50": map50(first, first_data, work / "eval_first"),
        "field_new_condition_share": new_share(field),
    }
    step = (len(field) - 1) / (BUDGET - 1)
    evenly = [field[i] for i in np.linspace(0, len(field) - 1, BUDGET).round().astype(int)]
    offset = np.linspace(step / 2, len(field) - 1 - step / 2, BUDGET).round().astype(int)
    picks = {
        "period": evenly,
        "period_offset": [field[i] for i in offset],
        "selection": select(first, field, REASONS),
        "unsure": select(first, field, ("unsure",)),
    }
    for name, picked in picks.items():
        data = write_dataset(work / name, {"train": easy_train + picked, "val": easy_val,
                                           "test": test})  # fmt: skip
        retrained = train(data, str(first), RETRAIN_EPOCHS, work / "runs", name)
        figures[f"{name}_frames"] = len(picked)
        figures[f"{name}_new_condition_share"] = new_share(picked)
        figures[f"{name}_rooms"] = len({shot.room for shot in picked})
        figures[f"{name}_new_condition_rooms"] = len(
            {shot.room for shot in picked if shot.condition != "normal"}
        )
        figures[f"{name}_map50"] = map50(retrained, data, work / f"eval_{name}")
    for name in ("period_offset", "selection", "unsure"):
        figures[f"{name}_vs_period"] = figures[f"{name}_map50"] / max(figures["period_map50"], 1e-9)
    return figures


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="tour")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="odet-bench-active-") as folder:
        figures = run(args.seed, args.scenario, Path(folder))
    for name, value in figures.items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main_bench()
