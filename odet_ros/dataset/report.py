"""The check report on disk: stats.json, PNG plots and one HTML page tying them up.

The plots need matplotlib (it comes with Ultralytics); without it the report has no plots and
says so, rather than the check failing.
"""

from __future__ import annotations

import html
import io
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from odet_ros.atomic import write_bytes_atomic, write_text_atomic
from odet_ros.dataset.check import CheckResult
from odet_ros.dataset.stats import DatasetStats

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LOG = logging.getLogger(__name__)
PLOTS = ("class_counts.png", "box_sizes.png", "aspect_ratios.png", "bags.png")
MAX_FINDINGS_SHOWN = 500
TWINS_IMAGE = "twins.jpg"
TWINS_SHOWN = 12
TWIN_TILE = (192, 144)


def write_report(
    stats: DatasetStats, checked: CheckResult, out: Path, images_dir: Path | None = None
) -> list[Path]:
    """Write the report files into ``out``; returns them. With ``images_dir``, the near twins
    across splits are shown side by side (``twins.jpg``)."""
    out.mkdir(parents=True, exist_ok=True)
    summary = stats.to_json()
    summary["errors"] = len(checked.errors)
    summary["warnings_found"] = len(checked.warnings)
    written = [out / "stats.json"]
    write_text_atomic(written[0], json.dumps(summary, indent=1))
    figures: dict[str, Figure]
    try:
        figures = _figures(stats)
    except ImportError:
        LOG.warning("matplotlib is not installed: the report has no plots")
        figures = {}
    for name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        write_bytes_atomic(out / name, buffer.getvalue())
        written.append(out / name)
    twins = _twin_pairs(checked, images_dir) if images_dir is not None else None
    if twins is not None:
        write_bytes_atomic(out / TWINS_IMAGE, twins)
        written.append(out / TWINS_IMAGE)
    written.append(out / "index.html")
    write_text_atomic(written[-1], _html(summary, checked, list(figures), twins is not None))
    return written


def _twin_pairs(checked: CheckResult, images_dir: Path) -> bytes | None:
    """Up to TWINS_SHOWN pairs, the held-out image left and its train twin right; None when
    there are none."""
    rows = []
    for twin in checked.twins[:TWINS_SHOWN]:
        pair = [cv2.imread(str(images_dir / name)) for name in (twin.image, twin.train_image)]
        tiles = [
            cv2.resize(im, TWIN_TILE, interpolation=cv2.INTER_AREA) for im in pair if im is not None
        ]
        if len(tiles) == 2:
            rows.append(np.hstack(tiles))
    if not rows:
        return None
    ok, encoded = cv2.imencode(".jpg", np.vstack(rows))
    return encoded.tobytes() if ok else None


def _figures(stats: DatasetStats) -> dict[str, Figure]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figures = {}
    figure = Figure(figsize=(7, 3.5))
    axes = figure.subplots()
    axes.bar(stats.names, stats.instances, color="tab:blue")
    axes.set_ylabel("instances")
    axes.set_title("Instances per class")
    axes.tick_params(axis="x", rotation=30)
    figures[PLOTS[0]] = figure

    figure = Figure(figsize=(5, 4.5))
    axes = figure.subplots()
    for class_id, name in enumerate(stats.names):
        chosen = stats.box_class == class_id
        axes.scatter(stats.box_width[chosen], stats.box_height[chosen], s=4, label=name)
    axes.set_xlabel("box width (px)")
    axes.set_ylabel("box height (px)")
    axes.set_title("Box sizes")
    if stats.names:
        axes.legend(fontsize="small", markerscale=3)
    figures[PLOTS[1]] = figure

    figure = Figure(figsize=(6, 3.5))
    axes = figure.subplots()
    aspect = stats.box_width / np.maximum(stats.box_height, 1e-9)
    if len(aspect):
        axes.hist(np.log2(np.clip(aspect, 1 / 64, 64)), bins=40, color="tab:green")
    axes.set_xlabel("log2(width / height)")
    axes.set_ylabel("boxes")
    axes.set_title("Box aspect ratios")
    figures[PLOTS[2]] = figure

    figure = Figure(figsize=(7, 3.5))
    axes = figure.subplots()
    bags = list(stats.per_bag)
    positions = np.arange(len(bags))
    axes.bar(positions - 0.2, [stats.per_bag[b]["images"] for b in bags], 0.4, label="images")
    axes.bar(positions + 0.2, [stats.per_bag[b]["instances"] for b in bags], 0.4, label="instances")
    axes.set_xticks(positions, bags, rotation=30, ha="right", fontsize="small")
    axes.set_title("Per source bag")
    axes.legend()
    figures[PLOTS[3]] = figure
    return figures


def _html(
    summary: dict[str, Any], checked: CheckResult, plots: list[str], twins_image: bool = False
) -> str:
    escape = html.escape
    class_rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{c['instances']}</td><td>{c['images']}</td></tr>"
        for name, c in summary["classes"].items()
    )
    bag_rows = "".join(
        f"<tr><td>{escape(bag)}</td><td>{b['images']}</td><td>{b['instances']}</td></tr>"
        for bag, b in summary["per_bag"].items()
    )
    findings = "".join(
        f"<li class='{f.level}'>{escape(str(f))}</li>"
        for f in checked.findings[:MAX_FINDINGS_SHOWN]
    )
    more = len(checked.findings) - MAX_FINDINGS_SHOWN
    if more > 0:
        findings += f"<li>... and {more} more (see the command's output)</li>"
    balance = "".join(f"<li class='warning'>{escape(w)}</li>" for w in summary["warnings"])
    images = "".join(f"<img src='{name}' alt='{name}'>" for name in plots)
    twin_rows = "".join(
        f"<tr><td>{escape(t.image)}</td><td>{t.split}</td><td>{escape(t.train_image)}</td>"
        f"<td>{t.difference:.1f}</td></tr>"
        for t in checked.twins
    )
    twins = (
        "<p>Val or test images that nearly repeat a train image (the same view give or take a"
        " small pan) make the scores look better than the model is. Group them with"
        " <code>odet bag export --same-view</code> and split again.</p>"
        "<table><tr><th>image</th><th>split</th><th>train twin</th><th>difference</th></tr>"
        f"{twin_rows}</table>"
        + (f"<img src='{TWINS_IMAGE}' alt='near twins, held out left, train right'>"
           if twins_image else "")
        if checked.twins
        else "<p>none (or the dataset is not split yet)</p>"
    )  # fmt: skip
    imbalance = summary["imbalance_ratio"]
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>odet dataset check</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} td:first-child{{text-align:left}}
.error{{color:#b00}} .warning{{color:#a60}} img{{max-width:48%;margin:4px}}</style></head>
<body><h1>Dataset check</h1>
<p>{summary["images"]} images ({summary["background_images"]} background),
{summary["instances"]} instances, imbalance ratio {imbalance if imbalance is not None else "-"};
{summary["errors"]} errors, {summary["warnings_found"]} warnings.</p>
<h2>Balance</h2><ul>{balance or "<li>no balance warnings</li>"}</ul>
<h2>Classes</h2><table><tr><th>class</th><th>instances</th><th>images</th></tr>{class_rows}</table>
<h2>Source bags</h2><table><tr><th>bag</th><th>images</th><th>instances</th></tr>{bag_rows}</table>
<h2>Plots</h2>{images or "<p>no plots: matplotlib is not installed</p>"}
<h2>Near twins across splits</h2>{twins}
<h2>Findings</h2><ul>{findings or "<li>none</li>"}</ul>
</body></html>
"""
