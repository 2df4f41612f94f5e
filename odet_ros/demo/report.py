"""`runs/demo/report.html`: the verdict, the results per class, the threshold to run the model at,
then every step's figures, plots and the command that reproduces it.

The figures are read back from the files each step wrote (manifest, stats.json, results.csv,
bundle.yaml, metrics.json, detections.jsonl), so the report shows what a user running the same
commands would find. The page is self-contained: images are embedded. Every figure outside the
training curves is on the test split, in COCO mode, named as ``odet eval`` names it.
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

from odet_ros.atomic import write_bytes_atomic, write_text_atomic
from odet_ros.bags import open_bags
from odet_ros.demo.pipeline import DemoRun
from odet_ros.demo.summary import Summary, summary_html
from odet_ros.demo.verdict import Measures, Verdict, judge
from odet_ros.evaluation.plots import positions_png
from odet_ros.evaluation.positions import PositionReport, evaluate_positions
from odet_ros.evaluation.threshold import advise
from odet_ros.replay.bags import MASKS_TOPIC
from odet_ros.sample.objects import CLASS_NAMES
from odet_ros.training.curves import read_results, training_curves_png

REPORT_FILE = "report.html"
POSITIONS_PLOT = "positions.png"
CURVES_PLOT = "training_curves.png"
STRIP_FILE = "strip.jpg"
STRIP_FRAMES = 6
STRIP_COLUMNS = 3
STRIP_MIN_HEIGHT = 240  # smaller frames are enlarged (nearest pixel) so their labels can be read
SPLITS = ("train", "val", "test")
WIDE = {"training curves", "annotated frames", "3D positions against the ground truth"}


@dataclass
class StepFigures:
    """What the report shows for one step."""

    figures: dict[str, str] = field(default_factory=dict)
    images: dict[str, Path] = field(default_factory=dict)
    links: dict[str, Path] = field(default_factory=dict)
    note: str = ""


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


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def collect(run: DemoRun) -> tuple[dict[str, StepFigures], Summary]:
    """Figures per step key, and what the top of the page shows."""
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
    outlines = sum(len(line.split()) > 5 for p in labels for line in p.read_text().splitlines())
    steps["import"] = StepFigures(
        {
            "labelled images": str(len(labels)),
            "boxes": str(sum(_lines(p) for p in labels)),
            **({"of them outlines (polygons)": str(outlines)} if outlines else {}),
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

    split_sizes = {split: _lines(run.dataset / f"{split}.txt") for split in SPLITS}
    steps["split"] = StepFigures({f"{split} images": str(n) for split, n in split_sizes.items()})

    steps["train"] = _training(run)

    pt_document = _json(run.eval_dir("pt") / "metrics.json")
    pt = pt_document["overall"]
    pt_label = Path(pt_document["model"]["file"]).name
    steps["eval_pt"] = StepFigures(
        {
            "mAP50": _fmt(pt["map50"]),
            "mAP50-95": _fmt(pt["map50_95"]),
            **_at_conf(pt, pt_document["conf"]),
            "best-F1 confidence": _fmt(pt["best_f1_conf"]),
            **_masks(pt_document),
        },
        images={
            "precision-recall": run.eval_dir("pt") / "pr_curve.png",
            "F1 against confidence": run.eval_dir("pt") / "f1_curve.png",
            "confusion matrix": run.eval_dir("pt") / "confusion_matrix.png",
        },
        links={"evaluation report": run.eval_dir("pt") / "report.html"},
    )

    exports = {}
    for key, bundle in (("export_onnx", run.onnx), ("export_int8", run.int8)):
        metrics = exports[key] = _bundle_metrics(bundle)
        size = sum(p.stat().st_size for p in bundle.iterdir() if p.is_file())
        steps[key] = StepFigures(
            {
                "mAP50": _fmt(metrics["map50"]),
                "mAP50-95": _fmt(metrics["map50_95"]),
                "mAP50-95 lost to the export (points)": f"{metrics['map50_95_drop_points']:.2f}",
                **(
                    {
                        "mask mAP50-95": _fmt(metrics["mask_map50_95"]),
                        "mask mAP50-95 lost (points)": (
                            f"{metrics['mask_map50_95_drop_points']:.2f}"
                        ),
                    }
                    if "mask_map50_95_drop_points" in metrics
                    else {}
                ),
                "bundle size": f"{size / 1e6:.1f} MB",
            }
        )

    exported = _json(run.eval_dir("exported") / "comparison.json")
    a, b = exported["a"], exported["b"]
    steps["eval_exported"] = StepFigures(
        {
            "ONNX mAP50-95": _fmt(a["overall"]["map50_95"]),
            "int8 TFLite mAP50-95": _fmt(b["overall"]["map50_95"]),
            "ONNX ms per frame": f"{a['model']['inference_ms']:.1f}",
            "int8 TFLite ms per frame": f"{b['model']['inference_ms']:.1f}",
            **{f"ONNX {k}": v for k, v in _masks(a).items()},
            **{f"int8 TFLite {k}": v for k, v in _masks(b).items()},
        },
        images={"int8 TFLite precision-recall": run.eval_dir("exported") / "b" / "pr_curve.png"},
        links={"side-by-side report": run.eval_dir("exported") / "report.html"},
    )

    records = [json.loads(line) for line in (run.detect / "detections.jsonl").open()]
    positions = evaluate_positions(records, _json(run.ground_truth_3d)["frames"])
    figures = positions.figures()
    steps["detect"] = StepFigures(
        {
            "frames": str(len(records)),
            "detections": str(sum(len(r["detections"]) for r in records)),
            "located in 3D": str(sum("position_m" in d for r in records for d in r["detections"])),
            "matched to an object": f"{figures['matched']:.0f}",
            "position error, median / p90": _centimetres(figures),
            "within 3% of the range": _share(figures),
            **_mask_images(run.detect / "detections_bag"),
            "output bag": str(run.detect / "detections_bag"),
        },
        images=_detection_images(run, records, positions),
    )

    measures = Measures(
        pt_map50=pt["map50"],
        pt_map50_95=pt["map50_95"],
        onnx_drop_points=exports["export_onnx"]["map50_95_drop_points"],
        int8_drop_points=exports["export_int8"]["map50_95_drop_points"],
        int8_map50_95=b["overall"]["map50_95"],
        matched=int(figures["matched"]),
        median_relative_error=figures.get("median_relative_error"),
    )
    summary = Summary(
        settings=s,
        verdict=judge(measures, s.quick),
        pt_label=pt_label,
        int8_label=run.int8.name,
        pt=pt_document,
        int8=b,
        advice=advise(b["overall"], b["conf"]),
        pt_advice=advise(pt, pt_document["conf"]),
        test_images=split_sizes["test"],
    )
    return steps, summary


def _masks(document: dict[str, Any]) -> dict[str, str]:
    """A segmentation model's mask figures in an evaluation's metrics.json (none without)."""
    masks = document.get("masks")
    if not masks:
        return {}
    overall = masks["overall"]
    return {"mask mAP50": _fmt(overall["map50"]), "mask mAP50-95": _fmt(overall["map50_95"])}


def _mask_images(bag: Path) -> dict[str, str]:
    """How many instance mask images the detections bag holds (a detector's bag has none)."""
    with open_bags(bag) as reader:
        topic = reader.topics.get(MASKS_TOPIC)
    return {f"instance mask images ({MASKS_TOPIC})": str(topic.count)} if topic else {}


def _at_conf(overall: dict[str, Any], conf: float) -> dict[str, str]:
    return {
        f"P@{conf:g}": _fmt(overall["precision_at_conf"]),
        f"R@{conf:g}": _fmt(overall["recall_at_conf"]),
        f"F1@{conf:g}": _fmt(overall["f1_at_conf"]),
    }


def _training(run: DemoRun) -> StepFigures:
    """The run's size and its curves, drawn here from results.csv."""
    folder = run.trained.parent
    curves = read_results(folder / "results.csv")
    images = {}
    title = f"{folder.name}.pt: YOLO11n from its YAML, {len(curves.epochs)} epochs"
    png = training_curves_png(curves, title)
    if png is not None:
        images["training curves"] = _save(run.out / CURVES_PLOT, png)
    return StepFigures(
        {"epochs": str(len(curves.epochs)), "image size": str(run.settings.imgsz)},
        images=images,
        links={"Ultralytics' run folder": folder},
        note=(
            "The curves are the only figures on the val split: Ultralytics scores val after each"
            " epoch (its own mAP) to keep the best weights. Everything else in this report is on"
            " the test split, which training never saw, scored by odet eval in COCO mode."
        ),
    )


def _detection_images(
    run: DemoRun, records: list[dict[str, Any]], positions: PositionReport
) -> dict[str, Path]:
    images = {}
    shown = [r["frame"] for r in records if r["detections"]]
    strip = write_strip(run.detect / "annotated", run.out / STRIP_FILE, [str(f) for f in shown])
    if strip is not None:
        images["annotated frames"] = strip
    plot = positions_png(positions, list(CLASS_NAMES))
    if plot is not None:
        images["3D positions against the ground truth"] = _save(run.out / POSITIONS_PLOT, plot)
    return images


def write_strip(folder: Path, out: Path, stems: list[str] | None = None) -> Path | None:
    """Evenly spaced annotated frames (of ``stems`` where given: frames with detections) in a
    grid, small frames enlarged; unreadable ones left out; None without any."""
    frames = sorted(folder.glob("*.jpg"))
    if stems is not None:
        wanted = set(stems)
        frames = [p for p in frames if p.stem in wanted] or frames
    if not frames:
        return None
    picks = [
        frames[int(i)] for i in np.linspace(0, len(frames) - 1, min(STRIP_FRAMES, len(frames)))
    ]
    images = [image for p in picks if (image := cv2.imread(str(p))) is not None]
    if not images:
        return None
    height = min(image.shape[0] for image in images)
    scale = max(1, -(-STRIP_MIN_HEIGHT // height))
    tiles = [
        cv2.resize(
            im,
            (im.shape[1] * height * scale // im.shape[0], height * scale),
            interpolation=cv2.INTER_NEAREST,
        )
        for im in images
    ]
    width = max(tile.shape[1] for tile in tiles)
    white = (255, 255, 255)
    tiles = [
        cv2.copyMakeBorder(t, 2, 2, 2, 2 + width - t.shape[1], cv2.BORDER_CONSTANT, value=white)
        for t in tiles
    ]
    blank = np.full_like(tiles[0], 255)
    tiles += [blank] * (-len(tiles) % STRIP_COLUMNS)
    rows = [np.hstack(tiles[i : i + STRIP_COLUMNS]) for i in range(0, len(tiles), STRIP_COLUMNS)]
    ok, data = cv2.imencode(".jpg", np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return _save(out, data.tobytes()) if ok else None


def _save(path: Path, data: bytes) -> Path:
    write_bytes_atomic(path, data)
    return path


def _image_tag(path: Path, title: str) -> str:
    if not path.exists():
        return ""
    mime = "image/png" if path.suffix == ".png" else "image/jpeg"
    data = base64.b64encode(path.read_bytes()).decode()
    wide = " class=wide" if title in WIDE else ""
    return (
        f'<figure{wide}><img src="data:{mime};base64,{data}" alt="{html.escape(title)}">'
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
    )


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
    "color:#222;line-height:1.4}"
    "pre,code{background:#f4f4f4}pre{padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere}"
    "table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ddd;"
    "padding:.2em .4em;text-align:left}td.n{text-align:right;white-space:nowrap}"
    ".scroll{overflow-x:auto}"
    "td.path{overflow-wrap:anywhere}thead th{background:#f0f0f0;vertical-align:bottom}"
    ".images{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}"
    "figure{margin:0;flex:0 1 calc(50% - .5em);min-width:0}figure.wide{flex-basis:100%}"
    "img{display:block;box-sizing:border-box;max-width:100%;height:auto;border:1px solid #eee}"
    "figcaption{color:#555;font-size:.9em}"
    ".ok{color:#060}.bad{color:#a00;font-weight:bold}td.ok,td.bad{white-space:nowrap}"
    ".time,.note{color:#555}"
    ".quick{background:#fff6d6;border:1px solid #e0c060;padding:.6em 1em}"
    "tr.missing td,tr.missing th{background:#fdecea}dd{margin:0 0 .4em 1.5em}"
)


def render(run: DemoRun, steps: dict[str, StepFigures], summary: Summary) -> str:
    """The report page."""
    sections = []
    for number, step_run in enumerate(run.runs, 1):
        step = step_run.step
        figures = steps.get(step.key, StepFigures())
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td class=path>{html.escape(v)}</td></tr>"
            for k, v in figures.figures.items()
        )
        links = " ".join(
            f'<a href="{html.escape(str(p.relative_to(run.out)))}">{html.escape(name)}</a>'
            for name, p in figures.links.items()
            if p.exists()
        )
        note = f"<p class=note>{html.escape(figures.note)}</p>" if figures.note else ""
        images = "".join(_image_tag(p, title) for title, p in figures.images.items())
        sections.append(
            f"<section><h3>{number}. {html.escape(step.title)}</h3>"
            f"<pre>$ {html.escape(step.command)}</pre>"
            f"<p class=time>{step_run.seconds:.1f} s {links}</p>"
            f"<table>{rows}</table>{note}<div class=images>{images}</div></section>"
        )
    total = sum(r.seconds for r in run.runs)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>odet demo</title><style>{STYLE}</style></head><body>"
        "<h1>odet_ros: the whole workflow on the bundled sample</h1>"
        f"{summary_html(summary, total)}"
        f"<h2>The steps</h2>{''.join(sections)}</body></html>"
    )


def write_report(run: DemoRun) -> tuple[Path, Verdict]:
    """Write ``<out>/report.html`` (atomically) and return it with the verdict."""
    steps, summary = collect(run)
    path = run.out / REPORT_FILE
    write_text_atomic(path, render(run, steps, summary))
    return path, summary.verdict
