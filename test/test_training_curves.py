"""Training curves drawn from Ultralytics' results.csv: read as numbers (older releases pad the
header with spaces), drawn as one legible two-panel PNG, and a damaged file named with its line."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from odet_ros.training.curves import read_results, training_curves_png
from odet_ros.training.errors import TrainingError

HEADER = (
    "epoch,time,train/box_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),"
    "metrics/recall(B),metrics/mAP50(B),metrics/mAP50-95(B),val/box_loss,val/cls_loss,"
    "val/dfl_loss,lr/pg0,lr/pg1,lr/pg2"
)


def results(path: Path, epochs: int = 5, header: str = HEADER) -> Path:
    rows = [header]
    for epoch in range(1, epochs + 1):
        loss = 3.0 / epoch
        score = 1 - 1 / (epoch + 1)
        rows.append(
            f"{epoch},{6.5 * epoch},{loss},{loss},{loss},{score},{score},{score},{score / 2},"
            f"{loss + 0.2},{loss + 0.2},{loss + 0.2},0.001,0.001,0.001"
        )
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("padded", [False, True])
def test_results_are_read_by_column(tmp_path, padded):
    header = ",".join(f"{name:>20}" for name in HEADER.split(",")) if padded else HEADER
    curves = read_results(results(tmp_path / "results.csv", header=header))
    assert curves.epochs.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(
        curves.column("metrics/mAP50-95(B)"), [1 / 4, 1 / 3, 3 / 8, 0.4, 5 / 12]
    )
    assert curves.column("no such column") is None


def test_the_curves_are_one_wide_png(tmp_path):
    pytest.importorskip("matplotlib")
    curves = read_results(results(tmp_path / "results.csv"))
    png = training_curves_png(curves, "shapes.pt: 5 epochs")
    assert png is not None
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    assert width >= 1200 and width / height > 2  # two panels side by side, drawn large


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no epoch"),
        (HEADER + "\n", "no epoch"),
        ("time,loss\n1,2\n", "no 'epoch' column"),
        (HEADER + "\n1,2,3\n", "line 2: 3 values, 15 columns"),
        (HEADER + "\n" + ",".join(["1"] * 14 + ["nan?"]) + "\n", "line 2: not a number"),
    ],
)
def test_a_damaged_file_is_an_error_naming_it(tmp_path, text, message):
    path = tmp_path / "results.csv"
    path.write_text(text)
    with pytest.raises(TrainingError, match=message) as caught:
        read_results(path)
    assert str(path) in str(caught.value)
