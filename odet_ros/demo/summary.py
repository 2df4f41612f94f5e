"""The top of the demo report: what kind of run it was, the verdict, the results per class, the
threshold to run the model at, and what each figure means.

Figures keep the names ``odet eval`` gives them (mAP50, mAP50-95, AP50, P@0.25 ...), all on the
test split in COCO mode; the one drop metric is mAP50-95 points, as ``odet export --max-drop``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from odet_ros.demo.pipeline import DemoSettings
from odet_ros.demo.verdict import Check, Verdict
from odet_ros.evaluation.threshold import ThresholdAdvice

FULL_RUN_MINUTES = 5  # `odet demo` on 2 cores after set-up (README)


@dataclass(frozen=True)
class Summary:
    settings: DemoSettings
    verdict: Verdict
    pt_label: str  # the trained model, as the tables name it
    int8_label: str  # the robot's model
    pt: dict[str, Any]  # the .pt's metrics.json
    int8: dict[str, Any]  # the int8 model's evaluation (comparison.json's "b")
    advice: ThresholdAdvice | None  # for the int8 model, the one a robot runs
    pt_advice: ThresholdAdvice | None
    test_images: int


def summary_html(summary: Summary, total_seconds: float) -> str:
    return "".join(
        [
            _kind(summary, total_seconds),
            _verdict(summary.verdict),
            _classes(summary),
            _threshold(summary),
            _terms(summary),
        ]
    )


def _text(value: object) -> str:
    return html.escape(str(value))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _kind(summary: Summary, total_seconds: float) -> str:
    s = summary.settings
    size = (
        f"{s.segments * s.frames_per_segment} frames at {s.width}x{s.height}, {s.epochs} epochs"
        f" at {s.imgsz} px, {total_seconds / 60:.1f} min"
    )
    if not s.quick:
        return f"<p>Full run: {_text(size)}.</p>"
    return (
        f"<p class=quick><b>Quick run</b> (<code>odet demo --quick</code>: {_text(size)}). Every"
        " step runs for real, but the model is under-trained on purpose: the figures below show"
        " that the pipeline works, not what it achieves. This is not a quality verdict; run"
        f" <code>odet demo</code> (about {FULL_RUN_MINUTES} minutes) for one.</p>"
    )


def _check_rows(checks: list[Check]) -> str:
    return "".join(
        f"<tr><td>{_text(c.name)}</td><td>{_text(c.needed)}</td><td class=n>{_text(c.measured)}"
        f"</td><td class={'ok' if c.passed else 'bad'}>{'met' if c.passed else 'NOT met'}</td></tr>"
        for c in checks
    )


def _verdict(verdict: Verdict) -> str:
    if verdict.quick:
        exit_code = (
            "<code>odet demo --quick</code> exits 1 only when a pipeline check fails: its model"
            " cannot meet the targets, which it reports all the same."
        )
    else:
        exit_code = "<code>odet demo</code> exits 1 when a target or a pipeline check is not met."
    style = "ok" if verdict.passed else "bad"
    return (
        f"<h2>Verdict</h2><p class={style}>{_text(verdict.headline())}</p>"
        "<table><thead><tr><th>requirement</th><th>needed</th><th>this run</th><th></th></tr>"
        "</thead><tbody><tr><th colspan=4>Targets of the demo</th></tr>"
        f"{_check_rows(verdict.targets)}"
        "<tr><th colspan=4>Pipeline checks (each step did its job)</th></tr>"
        f"{_check_rows(verdict.checks)}</tbody></table><p class=note>{exit_code}</p>"
    )


def _class_note(row: dict[str, Any], int8_row: dict[str, Any]) -> str:
    if not row["instances"]:
        return "not in the test split"
    never = [m for m, r in ((".pt", row), ("int8", int8_row)) if r["predictions_at_conf"] == 0]
    return f"never detected ({' and '.join(never)})" if never else ""


def _classes(summary: Summary) -> str:
    """The classes of the test split, every class of the dataset listed, a class the models
    never detect at the node's threshold marked."""
    pt, int8 = summary.pt, summary.int8
    conf = pt["conf"]
    at = f"@{conf:g}"
    headers = ["class", "images", "instances", "AP50", "AP50-95", f"P{at}", f"R{at}", f"F1{at}"]
    headers += [f"boxes > {conf:g}", "AP50-95", f"boxes > {conf:g}", "note"]
    overall, overall8 = pt["overall"], int8["overall"]
    totals = [str(summary.test_images), str(pt["instances"])]
    totals += [_fmt(overall[k]) for k in ("map50", "map50_95", "precision_at_conf")]
    totals += [_fmt(overall[k]) for k in ("recall_at_conf", "f1_at_conf")]
    totals += ["", _fmt(overall8["map50_95"]), ""]
    rows = [_row("all", totals, "")]
    for row, row8 in zip(pt["classes"], int8["classes"], strict=True):
        cells = [str(row["images"]), str(row["instances"])]
        cells += [_fmt(row[k]) for k in ("ap50", "ap50_95", "precision_at_conf")]
        cells += [_fmt(row[k]) for k in ("recall_at_conf", "f1_at_conf")]
        cells += [str(row["predictions_at_conf"]), _fmt(row8["ap50_95"])]
        cells += [str(row8["predictions_at_conf"])]
        rows.append(_row(row["name"], cells, _class_note(row, row8)))
    group = (
        f"<tr><th colspan=3></th><th colspan=6>{_text(summary.pt_label)}</th>"
        f"<th colspan=2>{_text(summary.int8_label)}</th><th></th></tr>"
    )
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    return (
        f"<h2>Results per class, test split</h2>"
        f"<div class=scroll><table><thead>{group}<tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f"<p class=note>boxes &gt; {conf:g}: the model's boxes of the class scoring above the"
        " node's default conf_threshold; a class never detected there is marked.</p>"
    )


def _row(name: str, cells: list[str], note: str) -> str:
    numbers = "".join(f"<td class=n>{_text(c)}</td>" for c in cells)
    marked = " class=missing" if note else ""
    return f"<tr{marked}><th>{_text(name)}</th>{numbers}<td>{_text(note)}</td></tr>"


def _threshold(summary: Summary) -> str:
    advice = summary.advice
    title = "<h2>Choosing conf_threshold</h2>"
    if advice is None:
        return f"{title}<p>No ground truth on the test split: no advice.</p>"
    now = f"{advice.current_conf:g}"
    pt = summary.pt_advice
    other = f" (the .pt's: {pt.conf_threshold:g})" if pt is not None else ""
    text = (
        f"<p>The detector keeps boxes scoring above <code>conf_threshold</code> ({now} unless"
        f" set). On the test split, the mean F1 of {_text(summary.int8_label)}, the model a robot"
        f" runs, peaks at confidence <b>{advice.best_f1_conf:.3f}</b> (the best-F1 confidence):"
        f" F1 {advice.f1:.3f}, P {advice.precision:.3f}, R {advice.recall:.3f}; at {now}:"
        f" F1 {advice.f1_at_current:.3f}, P {advice.precision_at_current:.3f},"
        f" R {advice.recall_at_current:.3f}. Recommended <code>conf_threshold</code>:"
        f" <b>{advice.conf_threshold:g}</b>{other}.</p>"
    )
    commands = (
        f"ros2 launch odet_ros detect.launch.py model:={summary.int8_label}\n"
        f"ros2 param set /detector conf_threshold {advice.conf_threshold:g}\n"
        f"odet detect {summary.int8_label} BAG --conf {advice.conf_threshold:g}   # offline"
    )
    note = (
        "<p class=note>A quick run's under-trained model scores low, so its best threshold is"
        " low too: the number holds for this model only.</p>"
        if summary.settings.quick
        else ""
    )
    return f"{title}{text}<pre>{_text(commands)}</pre>{note}"


def _terms(summary: Summary) -> str:
    conf = f"{summary.pt['conf']:g}"
    terms = [
        ("test split", "images of whole sequences held out from training (the split is grouped"
         " by sequence, so no near-twin of a test frame is trained on); every figure in this"
         " report is on it, scored by odet eval in COCO mode, except the training curves"),
        ("val split", "what Ultralytics scores after each epoch to keep the best weights, with"
         " its own mAP: only the training curves show it"),
        ("AP50, mAP50", "average precision of a class at IoU 0.5 (COCO's 101-point"
         " interpolation); mAP: its mean over the classes in the split"),
        ("AP50-95, mAP50-95", "the same averaged over IoU 0.50, 0.55 ... 0.95"),
        (f"P@{conf}, R@{conf}, F1@{conf}", f"precision, recall and F1 of the boxes scoring above"
         f" {conf}, the node's default conf_threshold, counted exactly (a match: same class,"
         " IoU 0.5). A class with no box above it has P 0, R 0, F1 0: one convention in every"
         " table, curve and report of odet"),
        (f"boxes > {conf}", "the model's boxes of the class scoring above it, right or wrong: 0"
         " means the class is never detected at that threshold"),
        ("best-F1 confidence", "the confidence where the mean F1 over the classes (smoothed, as"
         " Ultralytics does) peaks: the threshold to run the model at"),
        ("mAP50-95 lost to the export (points)", "100 x (the .pt's mAP50-95 - the export's),"
         " both scored on the test split at the export's input size: what odet export"
         " --max-drop bounds"),
    ]  # fmt: skip
    rows = "".join(f"<dt>{_text(t)}</dt><dd>{_text(d)}</dd>" for t, d in terms)
    return f"<h2>What the figures mean</h2><dl>{rows}</dl>"
