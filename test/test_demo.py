"""`odet demo --quick`: every step runs for real and the report shows it."""

import html
import json

import pytest

from odet_ros.cli.main import main
from odet_ros.demo.pipeline import MARKER, DemoRun, DemoSettings, plan, prepare_output, run_demo
from odet_ros.detection import ModelBundle
from odet_ros.errors import OdetError
from odet_ros.evaluation.positions import evaluate_positions


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    pytest.importorskip("ultralytics")
    out = tmp_path_factory.mktemp("demo") / "run"
    code = main(["demo", "--quick", "--out", str(out)])
    return code, out


@pytest.mark.slow
def test_quick_demo_runs_every_step_and_meets_its_floor(quick_demo):
    code, out = quick_demo
    assert code == 0
    run = DemoRun(out, DemoSettings.quick())
    expected = [
        run.bag / "metadata.yaml",
        run.sample / "labels_coco.json",
        run.dataset / "manifest.csv",
        run.dataset / "report" / "index.html",
        run.dataset / "train.txt",
        run.dataset / "test.txt",
        run.trained / "bundle.yaml",
        run.eval_dir("pt") / "metrics.json",
        run.onnx / "bundle.yaml",
        run.int8 / "bundle.yaml",
        run.eval_dir("exported") / "comparison.json",
        run.detect / "detections.jsonl",
        run.detect / "detections_bag" / "metadata.yaml",
        out / "report.html",
    ]
    assert [str(p) for p in expected if not p.exists()] == []
    metrics = json.loads((run.eval_dir("pt") / "metrics.json").read_text())["overall"]
    assert metrics["map50"] >= DemoSettings.quick().map50_floor
    assert any(
        json.loads(line)["detections"] for line in run.detect.joinpath("detections.jsonl").open()
    )
    # 160x120 frames at imgsz 160: the exports take 128x160 (160x120 padded to the stride)
    assert ModelBundle.load(run.int8).imgsz == ModelBundle.load(run.onnx).imgsz == (128, 160)
    # 3D: the detections located in the sample's depth land near the objects, which a wrong
    # camera model, pairing or unit would throw off by far more (a few cm of box error remain
    # from the quick run's small model)
    records = [json.loads(line) for line in run.detect.joinpath("detections.jsonl").open()]
    truth = json.loads(run.ground_truth_3d.read_text())["frames"]
    figures = evaluate_positions(records, truth).figures()
    assert figures["matched"] > 50 and figures["median_relative_error"] < 0.06


@pytest.mark.slow
def test_report_shows_each_step_with_its_command(quick_demo):
    _, out = quick_demo
    page = (out / "report.html").read_text()
    for step in plan(DemoRun(out, DemoSettings.quick())):
        assert html.escape(step.title) in page
        assert html.escape(step.command) in page
    assert page.count("data:image/") >= 6  # class balance, curves, confusion, strip, positions
    assert "within 3% of the range" in page
    assert "Targets met" in page


def test_a_rerun_replaces_only_a_demo_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(OdetError, match="not an earlier demo"):
        prepare_output(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").exists()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / MARKER).write_text("{}")
    prepare_output(tmp_path / "old")
    assert list((tmp_path / "old").iterdir()) == []


def test_a_failing_step_stops_the_demo_naming_it(tmp_path):
    calls = []

    def execute(argv):
        calls.append(argv)
        return 0 if len(calls) < 3 else 1

    with pytest.raises(OdetError, match=r"step 3 \(import\).*odet dataset import"):
        run_demo(tmp_path / "demo", DemoSettings.quick(), execute, say=lambda _: None)
    assert len(calls) == 3
