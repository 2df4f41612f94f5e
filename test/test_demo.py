"""`odet demo --quick`: every step runs for real and the report shows it, as a browser renders it;
the verdict holds the quick run to the demo's real targets and its exit code to the pipeline
checks."""

import base64
import html
import json
import re

import pytest
from support.browser import chromium, render, why_no_chromium

from odet_ros.cli.main import main
from odet_ros.demo.pipeline import MARKER, DemoRun, DemoSettings, plan, prepare_output, run_demo
from odet_ros.demo.report import write_report
from odet_ros.demo.verdict import MAX_DROP_POINTS, TARGET_MAP50, Measures, judge
from odet_ros.detection import ModelBundle
from odet_ros.errors import OdetError
from odet_ros.evaluation.positions import evaluate_positions

DESKTOP_WIDTHS = (1024, 1440)
# A 1x1 PNG
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc000000301010018dd8db00000000049454e44ae426082"
    )
).decode()


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    pytest.importorskip("ultralytics")
    out = tmp_path_factory.mktemp("demo") / "run"
    code = main(["demo", "--quick", "--out", str(out)])
    return code, out


@pytest.fixture(scope="module")
def browser() -> str:
    executable = chromium()
    if executable is None:
        pytest.skip(why_no_chromium())
    return executable


@pytest.mark.slow
def test_quick_demo_runs_every_step_and_its_pipeline_checks_hold(quick_demo):
    code, out = quick_demo
    assert code == 0
    run = DemoRun(out, DemoSettings.quick_run())
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
    assert metrics["map50"] >= 0.05
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
    for step in plan(DemoRun(out, DemoSettings.quick_run())):
        assert html.escape(step.title) in page
        assert html.escape(step.command) in page
    # class balance, box sizes, training curves, PR, F1, confusion, int8 PR, strip, positions
    assert page.count("data:image/") >= 9
    assert "within 3% of the range" in page
    assert "--max-drop 2" in page  # the int8 export is held to the target it is judged by


@pytest.mark.slow
def test_quick_report_says_it_is_quick_and_judges_the_real_targets(quick_demo):
    _, out = quick_demo
    page = (out / "report.html").read_text()
    assert "Quick run" in page and "not a quality verdict" in page
    assert "Targets met" not in page
    assert f"&gt;= {TARGET_MAP50:.2f}" in page and f"&lt;= {MAX_DROP_POINTS:g} points" in page
    metrics = json.loads((out / "eval" / "pt" / "metrics.json").read_text())
    if metrics["overall"]["map50"] < TARGET_MAP50:
        assert "NOT met" in page


@pytest.mark.slow
def test_report_lists_every_class_and_marks_one_never_detected(quick_demo):
    _, out = quick_demo
    page = (out / "report.html").read_text()
    table = page[page.index("Results per class") : page.index("Choosing conf_threshold")]
    metrics = json.loads((out / "eval" / "pt" / "metrics.json").read_text())
    for row in metrics["classes"]:
        assert f"<th>{row['name']}</th>" in table
        marked = re.search(rf"<tr class=missing><th>{row['name']}</th>", table) is not None
        if row["predictions_at_conf"] == 0 and row["instances"]:
            assert marked
    assert f"P@{metrics['conf']:g}" in table


@pytest.mark.slow
def test_report_recommends_the_best_f1_confidence(quick_demo):
    _, out = quick_demo
    page = (out / "report.html").read_text()
    comparison = json.loads((out / "eval" / "exported" / "comparison.json").read_text())
    best = comparison["b"]["overall"]["best_f1_conf"]
    assert f"peaks at confidence <b>{best:.3f}</b>" in page
    assert f"ros2 param set /detector conf_threshold {round(best, 2):g}" in page


@pytest.mark.slow
@pytest.mark.parametrize("width", DESKTOP_WIDTHS)
@pytest.mark.parametrize(
    ("page", "images"),
    [
        ("report.html", 9),
        ("eval/pt/report.html", 3),  # the pages the report links to
        ("eval/exported/report.html", 6),
        ("dataset/report/index.html", 2),
    ],
)
def test_report_renders_in_a_browser_with_every_image_and_nothing_sticking_out(
    quick_demo, browser, width, page, images
):
    _, out = quick_demo
    seen = render(out / page, width, executable=browser)
    assert len(seen.images) >= images
    assert seen.broken_images() == []
    assert seen.overflowing == []
    assert seen.document <= seen.viewport
    assert all(image["shown"] <= seen.viewport for image in seen.images)


def test_the_browser_check_finds_broken_images_and_overflow(tmp_path, browser):
    page = tmp_path / "page.html"
    page.write_text(
        "<!doctype html><html><body style='margin:0'>"
        f"<img alt=fine src='data:image/png;base64,{PIXEL}'><img alt=gone src='missing.png'>"
        "<pre style='width:200px;white-space:pre'>" + "x" * 400 + "</pre>"
        "<div style='width:3000px'>wide</div></body></html>"
    )
    seen = render(page, 1024, executable=browser)
    assert seen.broken_images() == ["gone"]
    # the pre's text sticks out of it, the wide div out of the body
    assert [line.split()[0] for line in seen.overflowing] == ["body", "pre"]
    assert seen.document >= 3000 > seen.viewport
    assert list(tmp_path.iterdir()) == [page]  # the probed copy is gone


def _measures(**changed):
    base = dict(
        pt_map50=0.93,
        pt_map50_95=0.7,
        onnx_drop_points=0.0,
        int8_drop_points=1.2,
        int8_map50_95=0.688,
        matched=400,
        median_relative_error=0.02,
    )
    return Measures(**{**base, **changed})


def test_a_full_run_passes_only_on_the_targets_a_quick_run_on_the_pipeline_checks():
    good = _measures()
    assert judge(good, quick=False).passed and judge(good, quick=True).passed
    undertrained = _measures(pt_map50=0.55, pt_map50_95=0.25, int8_map50_95=0.24)
    full, quick = judge(undertrained, quick=False), judge(undertrained, quick=True)
    assert not full.passed and full.headline().startswith("Targets NOT met: .pt mAP50")
    assert quick.passed and "not a quality verdict" in quick.headline()
    assert "targets not met: .pt mAP50 on the test split" in quick.headline()
    too_lossy = judge(_measures(int8_drop_points=2.5, int8_map50_95=0.675), quick=False)
    assert [c.name for c in too_lossy.missed()] == ["mAP50-95 lost to the int8 TFLite export"]
    for broken in (
        _measures(pt_map50=0.01),
        _measures(onnx_drop_points=3.0),
        _measures(int8_map50_95=0.2),
        _measures(median_relative_error=0.4),
        _measures(matched=0, median_relative_error=None),
    ):
        verdict = judge(broken, quick=True)
        assert not verdict.passed and verdict.headline().startswith("The pipeline is broken")


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
        run_demo(tmp_path / "demo", DemoSettings.quick_run(), execute, say=lambda _: None)
    assert len(calls) == 3


@pytest.mark.slow
def test_the_segmentation_demo_trains_scores_exports_and_publishes_masks(tmp_path):
    """`odet demo --task segment`, smaller still than --quick (the pipeline, not the model):
    the outlines imported, a YOLO11n-seg trained, its masks scored and exported, and mask
    images written over the bag; the report shows them."""
    pytest.importorskip("ultralytics")
    settings = DemoSettings(
        segments=4, frames_per_segment=15, width=160, height=120, epochs=3, imgsz=96,
        quick=True, task="segment",
    )  # fmt: skip
    run = run_demo(tmp_path / "seg", settings, execute=main, say=lambda _: None)
    assert "yolo11n-seg.yaml" in next(s.command for s in plan(run) if s.key == "train")
    assert "--boxes-only" not in next(s.command for s in plan(run) if s.key == "import")
    assert "--boxes-only" in next(
        s.command for s in plan(DemoRun(run.out, DemoSettings.quick_run())) if s.key == "import"
    )
    assert "masks" in json.loads((run.eval_dir("pt") / "metrics.json").read_text())
    assert "mask_map50_95_drop_points" in ModelBundle.load(run.int8).metrics
    report, _ = write_report(run)
    page = report.read_text()
    for figure in ("of them outlines (polygons)", "mask mAP50-95", "mask mAP50-95 lost",
                   "int8 TFLite mask mAP50", "instance mask images (/instance_masks)"):  # fmt: skip
        assert html.escape(figure) in page, figure
    with pytest.raises(OdetError, match="--task must be one of detect, segment"):
        DemoSettings(task="pose")
