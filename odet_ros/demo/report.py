"""`runs/demo/report.html`: every step's figures, plots and the command that reproduces it.

The figures are read back from the files each step wrote (manifest, stats.json, bundle.yaml,
metrics.json, detections.jsonl), so the report shows what a user running the same commands
would find. The page is self-contained: images are embedded.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from odet_ros.atomic import write_text_atomic
from odet_ros.demo.pipeline import DemoRun
from odet_ros.evaluation.plots import positions_png
from odet_ros.evaluation.positions import evaluate_positions
from odet_ros.sample.objects import CLASS_NAMES

REPORT_FILE = "report.html"
POSITIONS_PLOT = "positions.png"
STRIP_FRAMES = 6


@dataclass
class StepFigures:
    """What the report shows for one step."""

    figures: dict[str, str] = field(default_factory=dict)
    images: dict[str, Path] = field(default_factory=dict)
    links: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The demo's targets: the .pt model's mAP50 and what int8 export costs."""

    pt_map50: float
    int8_map50: float
    floor: float
    max_drop_points: float

    @property
    def drop_points(self) -> float:
        return 100.0 * (self.pt_map50 - self.int8_map50)

    @property
    def passed(self) -> bool:
        return self.pt_map50 >= self.floor and self.drop_points <= self.max_drop_points


def _json(path: Path) -> dict[str, Any]:
    """A JSON document a step wrote (an object at the top)."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _bundle_metrics(bundle: Path) -> dict[str, Any]:
    config = yaml.safe_load((bundle / "bundle.yaml").read_text())
    metrics: dict[str, Any] = config.get("metrics", {})
    return metrics


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def _centimetres(figures: dict[str, float]) -> str:
    if "median_error_m" not in figures:
        return "-"
    return f"{figures['median_error_m'] * 100:.1f} / {figures['p90_error_m'] * 100:.1f} cm"


def _share(figures: dict[str, float]) -> str:
    return f"{figures['within_3_percent']:.0%}" if "within_3_percent" in figures else "-"


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def collect(run: DemoRun) -> tuple[dict[str, StepFigures], Verdict]:
    """Figures per step key, and the verdict on the targets."""
    s = run.settings
    frames = s.segments * s.frames_per_segment
    steps: dict[str, StepFigures] = {}

    coco = _json(run.sample / "labels_coco.json")
    steps["sample"] = StepFigures(
        {
            "frames per image topic": str(frames),
            "ground-truth boxes": str(len(coco["annotations"]) // 2),
            "sequences": str(s.segments),
            "image size": f"{s.width}x{s.height}",
        }
    )

    with (run.dataset / "manifest.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    steps["export"] = StepFigures(
        {
            "frames kept": str(len(rows)),
            "frames dropped (blurred or duplicate)": str(frames - len(rows)),
            "groups (sequences)": str(len({row["group"] for row in rows})),
        }
    )

    labels = sorted((run.dataset / "labels").glob("*.txt"))
    steps["import"] = StepFigures(
        {
            "labelled images": str(len(labels)),
            "boxes": str(sum(_lines(p) for p in labels)),
        }
    )

    stats = _json(run.dataset / "report" / "stats.json")
    report_dir = run.dataset / "report"
    steps["check"] = StepFigures(
        {
            **{f"{name} instances": str(c["instances"]) for name, c in stats["classes"].items()},
            "imbalance ratio": _fmt(stats["imbalance_ratio"] or 0.0),
        },
        images={
            "class balance": report_dir / "class_counts.png",
            "box sizes": report_dir / "box_sizes.png",
        },
        links={"dataset report": report_dir / "index.html"},
    )

    steps["split"] = StepFigures(
        {
            f"{split} images": str(_lines(run.dataset / f"{split}.txt"))
            for split in ("train", "val", "test")
        }
    )

    trained = _bundle_metrics(run.trained)
    steps["train"] = StepFigures(
        {f"val {key}": _fmt(value) for key, value in trained.items() if "map" in key},
        images={"training curves": run.out / "train" / "sample" / "results.png"},
    )

    pt = _json(run.eval_dir("pt") / "metrics.json")["overall"]
    steps["eval_pt"] = StepFigures(
        {
            "mAP50 (COCO)": _fmt(pt["map50"]),
            "mAP50-95 (COCO)": _fmt(pt["map50_95"]),
            "precision at conf 0.25": _fmt(pt["precision_at_conf"]),
            "recall at conf 0.25": _fmt(pt["recall_at_conf"]),
        },
        images={
            "precision-recall": run.eval_dir("pt") / "pr_curve.png",
            "confusion matrix": run.eval_dir("pt") / "confusion_matrix.png",
        },
        links={"evaluation report": run.eval_dir("pt") / "report.html"},
    )

    for key, bundle in (("export_onnx", run.onnx), ("export_int8", run.int8)):
        metrics = _bundle_metrics(bundle)
        size = sum(p.stat().st_size for p in bundle.iterdir() if p.is_file())
        steps[key] = StepFigures(
            {
                "mAP50": _fmt(metrics["map50"]),
                "mAP50-95": _fmt(metrics["map50_95"]),
                "mAP50-95 lost to export (points)": f"{metrics['map50_95_drop_points']:.2f}",
                "bundle size": f"{size / 1e6:.1f} MB",
            }
        )

    exported = _json(run.eval_dir("exported") / "comparison.json")
    a, b = exported["a"], exported["b"]
    steps["eval_exported"] = StepFigures(
        {
            "ONNX mAP50-95": _fmt(a["overall"]["map50_95"]),
            "int8 TFLite mAP50-95": _fmt(b["overall"]["map50_95"]),
            "ONNX ms/frame": f"{a['model']['inference_ms']:.1f}",
            "int8 TFLite ms/frame": f"{b['model']['inference_ms']:.1f}",
        },
        links={"side-by-side report": run.eval_dir("exported") / "report.html"},
    )

    records = [json.loads(line) for line in (run.detect / "detections.jsonl").open()]
    strip = write_strip(run.detect / "annotated", run.out / "strip.jpg")
    positions = evaluate_positions(records, _json(run.ground_truth_3d)["frames"])
    figures = positions.figures()
    images = {"annotated frames": strip} if strip else {}
    plot = positions_png(positions, list(CLASS_NAMES))
    if plot is not None:
        (run.out / POSITIONS_PLOT).write_bytes(plot)
        images["3D positions against the ground truth"] = run.out / POSITIONS_PLOT
    steps["detect"] = StepFigures(
        {
            "frames": str(len(records)),
            "detections": str(sum(len(r["detections"]) for r in records)),
            "located in 3D": str(sum("position_m" in d for r in records for d in r["detections"])),
            "matched to an object": f"{figures['matched']:.0f}",
            "position error, median / p90": _centimetres(figures),
            "within 3% of the range": _share(figures),
            "output bag": str(run.detect / "detections_bag"),
        },
        images=images,
    )

    verdict = Verdict(
        pt_map50=pt["map50"],
        int8_map50=b["overall"]["map50"],
        floor=s.map50_floor,
        max_drop_points=s.max_drop_points,
    )
    return steps, verdict


def write_strip(folder: Path, out: Path) -> Path | None:
    """A row of evenly spaced annotated frames (unreadable ones left out); None without any."""
    frames = sorted(folder.glob("*.jpg"))
    if not frames:
        return None
    picks = [
        frames[int(i)] for i in np.linspace(0, len(frames) - 1, min(STRIP_FRAMES, len(frames)))
    ]
    images = [image for p in picks if (image := cv2.imread(str(p))) is not None]
    if not images:
        return None
    height = min(image.shape[0] for image in images)
    row = np.hstack(
        [cv2.resize(im, (im.shape[1] * height // im.shape[0], height)) for im in images]
    )
    cv2.imwrite(str(out), row)
    return out


def _image_tag(path: Path, title: str) -> str:
    if not path.exists():
        return ""
    mime = "image/png" if path.suffix == ".png" else "image/jpeg"
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        f'<figure><img src="data:{mime};base64,{data}" alt="{html.escape(title)}">'
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
    )


def render(run: DemoRun, steps: dict[str, StepFigures], verdict: Verdict) -> str:
    """The report page."""
    sections = []
    for number, step_run in enumerate(run.runs, 1):
        step = step_run.step
        figures = steps.get(step.key, StepFigures())
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in figures.figures.items()
        )
        links = " ".join(
            f'<a href="{html.escape(str(p.relative_to(run.out)))}">{html.escape(name)}</a>'
            for name, p in figures.links.items()
            if p.exists()
        )
        images = "".join(_image_tag(p, title) for title, p in figures.images.items())
        sections.append(
            f"<section><h2>{number}. {html.escape(step.title)}</h2>"
            f"<pre>$ {html.escape(step.command)}</pre>"
            f"<p class=time>{step_run.seconds:.1f} s {links}</p>"
            f"<table>{rows}</table><div class=images>{images}</div></section>"
        )
    status = "met" if verdict.passed else "NOT met"
    total = sum(r.seconds for r in run.runs)
    summary = (
        f"<p class={'ok' if verdict.passed else 'bad'}>Targets {status}: .pt mAP50 on the test "
        f"split {verdict.pt_map50:.3f} (floor {verdict.floor:.2f}); int8 TFLite mAP50 "
        f"{verdict.int8_map50:.3f}, {verdict.drop_points:.2f} points lower (at most "
        f"{verdict.max_drop_points:.0f}). Total {total / 60:.1f} min.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>odet demo</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap}"
        "table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:.2em .6em;"
        "text-align:left}figure{display:inline-block;margin:.5em}img{max-width:100%}"
        ".images img{max-height:320px}.ok{color:#060}.bad{color:#a00;font-weight:bold}"
        ".time{color:#666}</style></head><body>"
        "<h1>odet_ros: the whole workflow on the sample</h1>"
        f"{summary}{''.join(sections)}</body></html>"
    )


def write_report(run: DemoRun) -> tuple[Path, Verdict]:
    """Write ``<out>/report.html`` (atomically) and return it with the verdict."""
    steps, verdict = collect(run)
    path = run.out / REPORT_FILE
    write_text_atomic(path, render(run, steps, verdict))
    return path, verdict
