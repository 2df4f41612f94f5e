"""The round trip with a running Label Studio: `odet label --to labelstudio` pushes the images
and the model's pre-labels, an annotator corrects them through Label Studio's API, `odet dataset
import --from labelstudio` pulls them back, box by box. A real server (Label Studio 1.23 from its
own environment, see support/labelstudio.py), real HTTP, real tokens.

The model is test/data/brightness_model.onnx (as in test_label_cli.py): one box, the middle half
of the image, whose class-0 ("bright") score is the image's mean brightness."""

from __future__ import annotations

import os
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import Request, urlopen

import cv2
import numpy as np
import pytest
from support.labelstudio import (
    EXECUTABLE_VARIABLE,
    UNAVAILABLE_VARIABLE,
    Server,
    free_port,
    label_studio,
)

from odet_ros.cli.main import main
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.detection.bundle import model_identity
from odet_ros.labels.labelstudio import image_name, labeling_config
from odet_ros.labels.yolo import parse_yolo, read_label_file
from odet_ros.labelstudio import LabelStudio
from odet_ros.sample.recording import IMAGE_TOPIC, write_sample
from odet_ros.sample.scene import SampleConfig

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.slow  # the server takes half a minute to start

MODEL = Path(__file__).parent / "data" / "brightness_model.onnx"
BRIGHTNESS = {"bright_a.jpg": 230, "bright b (2).jpg": 200, "dark.jpg": 20, "later.jpg": 210}
MIDDLE = [0.25, 0.25, 0.75, 0.75]  # the model's box
PERSON = [0.1, 0.1, 0.4, 0.5]  # the box a person drew on dark.jpg


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    executable = os.environ.get(EXECUTABLE_VARIABLE)
    if not executable:
        reason = os.environ.get(UNAVAILABLE_VARIABLE) or (
            f"no Label Studio here: the test command's workstation profile installs one and"
            f" sets {EXECUTABLE_VARIABLE}"
        )
        pytest.skip(reason)
    with label_studio(Path(executable), tmp_path_factory.mktemp("label_studio")) as started:
        yield started


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return server.session().personal_access_token()


@pytest.fixture
def dataset(tmp_path: Path, server: Server, monkeypatch, token) -> Dataset:
    """Images under the server's document root (local-files serves them from there), one with
    a person's label; the token in LABEL_STUDIO_API_KEY, as the README recommends."""
    dataset = Dataset.create(server.document_root / tmp_path.name / "ds")
    for name, level in BRIGHTNESS.items():
        if name != "later.jpg":
            cv2.imwrite(str(dataset.image_path(name)), np.full((128, 128, 3), level, np.uint8))
    dataset.label_path("dark.jpg").write_text("0 0.25 0.3 0.3 0.4\n")  # a person's label
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", token)
    return dataset


def _label(dataset: Dataset, url: str, *extra: str) -> int:
    return main(["label", str(dataset.root), "--model", str(MODEL), "--conf", "0.5",
                 "--to", "labelstudio", "--url", url, *extra])  # fmt: skip


def _pull(dataset: Dataset, server: Server, project: int, *extra: str) -> int:
    return main(["dataset", "import", "--from", "labelstudio", "--url", server.url,
                 "--project", str(project), "--into", str(dataset.root), *extra])  # fmt: skip


def _tasks(api: LabelStudio, project: int) -> dict[str, dict]:
    """The project's tasks by image name, with their predictions and annotations."""
    tasks = api.pages("/api/tasks", "tasks", {"project": project, "fields": "all"})
    return {image_name(task["data"]["image"]): task for task in tasks}


def _box(result: dict) -> list[float]:
    value = result["value"]
    x, y = value["x"] / 100, value["y"] / 100
    return [x, y, x + value["width"] / 100, y + value["height"] / 100]


def _project_id(printed: str) -> int:
    line = next(line for line in printed.splitlines() if line.startswith("Label Studio project"))
    return int(line.split()[3])


def _annotate(api: LabelStudio, task: dict, boxes: list[tuple[str, list[float]]]) -> None:
    """Submit an annotation as an annotator does in the labelling page."""
    result = [
        {"type": "rectanglelabels", "from_name": "label", "to_name": "image",
         "original_width": 128, "original_height": 128,
         "value": {"x": x0 * 100, "y": y0 * 100, "width": (x1 - x0) * 100,
                   "height": (y1 - y0) * 100, "rotation": 0, "rectanglelabels": [name]}}
        for name, (x0, y0, x1, y1) in boxes
    ]  # fmt: skip
    api.request("POST", f"/api/tasks/{task['id']}/annotations", {"result": result})


def test_push_correct_pull_box_by_box_and_rerun_adds_only_new_frames(
    dataset, server, token, capsys
):
    assert _label(dataset, server.url) == 0
    printed = capsys.readouterr().out
    project = _project_id(printed)
    assert "('odet dataset ds') created" in printed  # the folder name, made long enough
    assert "3 new tasks (2 with predictions, 1 with annotations)" in printed
    assert token not in printed

    api = LabelStudio.connect(server.url, token)
    tasks = _tasks(api, project)
    assert set(tasks) == {"bright_a.jpg", "bright_b_2.jpg", "dark.jpg"}  # as Label Studio names
    (prediction,) = tasks["bright_a.jpg"]["predictions"]
    assert prediction["model_version"] == "brightness_model.onnx"
    assert prediction["score"] == pytest.approx(230 / 255, abs=0.01)
    assert [_box(r) for r in prediction["result"]] == [pytest.approx(MIDDLE)]
    (person,) = tasks["dark.jpg"]["annotations"]
    assert [_box(r) for r in person["result"]] == [pytest.approx(PERSON)]

    # The annotator accepts one prediction, moves the other's box, and adds a class.
    _annotate(api, tasks["bright_a.jpg"], [("bright", MIDDLE)])
    moved = [0.1, 0.1, 0.5, 0.6]
    _annotate(api, tasks["bright_b_2.jpg"], [("bright", moved), ("mug", [0.6, 0.6, 0.9, 0.9])])
    assert _pull(dataset, server, project) == 0
    printed = capsys.readouterr().out
    assert "pulled 3 tasks" in printed and "classes added to data.yaml: mug" in printed
    assert dataset.names() == ["bright", "never", "mug"]
    expected = {
        "bright_a.jpg": ([0], [MIDDLE]),
        "bright b (2).jpg": ([0, 2], [moved, [0.6, 0.6, 0.9, 0.9]]),
        "dark.jpg": ([0], [PERSON]),
    }
    for name, (classes, boxes) in expected.items():
        class_ids, xyxy = read_label_file(dataset.label_path(name))
        assert class_ids.tolist() == classes, name
        np.testing.assert_allclose(xyxy, boxes, atol=1e-5, err_msg=name)
    assert len(Prelabels.load(dataset)) == 0  # every pre-label was reviewed
    assert (dataset.root / "labelling" / "labelstudio" / f"project_{project}_export.json").is_file()

    cv2.imwrite(str(dataset.image_path("later.jpg")), np.full((128, 128, 3), 210, np.uint8))
    assert _label(dataset, server.url) == 0
    printed = capsys.readouterr().out
    assert f"Label Studio project {project} " in printed and "updated" in printed
    assert "1 new tasks (1 with predictions, 0 with annotations)" in printed
    assert "3 images were already in the project" in printed
    assert set(_tasks(api, project)) == {"bright_a.jpg", "bright_b_2.jpg", "dark.jpg", "later.jpg"}


def test_only_completed_tasks_come_back_unless_all_tasks(dataset, server, token, capsys):
    assert _label(dataset, server.url, "--project-title", "two annotators") == 0
    project = _project_id(capsys.readouterr().out)
    api = LabelStudio.connect(server.url, token)
    tasks = _tasks(api, project)
    api.request("PATCH", f"/api/tasks/{tasks['bright_a.jpg']['id']}", {"overlap": 2})
    _annotate(api, tasks["bright_a.jpg"], [("bright", [0.0, 0.0, 0.5, 0.5])])  # 1 of 2
    _annotate(api, tasks["bright_b_2.jpg"], [("bright", [0.5, 0.5, 1.0, 1.0])])
    before = dataset.label_path("bright_a.jpg").read_text()

    assert _pull(dataset, server, project) == 0
    printed = capsys.readouterr().out
    assert "pulled 2 tasks" in printed and "1 tasks not completed yet were left out" in printed
    assert dataset.label_path("bright_a.jpg").read_text() == before  # still the pre-label
    assert _pull(dataset, server, project, "--all-tasks") == 0
    class_ids, xyxy = read_label_file(dataset.label_path("bright_a.jpg"))
    np.testing.assert_allclose(xyxy, [[0.0, 0.0, 0.5, 0.5]], atol=1e-5)


def test_local_files_storage_serves_the_dataset_without_copying(dataset, server, token, capsys):
    extra = ["--project-title", "local", "--storage", "local-files",
             "--document-root", str(server.document_root)]  # fmt: skip
    assert _label(dataset, server.url, *extra) == 0
    project = _project_id(capsys.readouterr().out)
    api = LabelStudio.connect(server.url, token)
    tasks = _tasks(api, project)
    assert set(tasks) == {"bright_a.jpg", "bright b (2).jpg", "dark.jpg"}
    reference = tasks["bright b (2).jpg"]["data"]["image"]
    assert reference.startswith("/data/local-files/?d=")
    request = Request(server.url + reference, headers={"Authorization": api._authorization()})
    with urlopen(request) as served:
        assert served.read() == dataset.image_path("bright b (2).jpg").read_bytes()
    _annotate(api, tasks["bright b (2).jpg"], [("never", [0.2, 0.2, 0.4, 0.4])])
    assert _pull(dataset, server, project) == 0
    class_ids, _ = read_label_file(dataset.label_path("bright b (2).jpg"))
    assert class_ids.tolist() == [1]

    outside = ["--project-title", "local", "--storage", "local-files", "--document-root", "/srv"]
    assert _label(dataset, server.url, *outside) == 1
    assert "is not under --document-root /srv" in capsys.readouterr().err


def test_a_legacy_token_works_where_the_organisation_allows_it(dataset, server, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", server.session().legacy_token())
    assert _label(dataset, server.url, "--project-title", "legacy") == 0


def test_bad_url_wrong_token_and_a_project_of_other_classes_fail_clearly(
    dataset, server, token, monkeypatch, capsys
):
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert main(["label", str(dataset.root), "--model", str(MODEL), "--to", "labelstudio",
                 "--url", nowhere]) == 1  # fmt: skip
    assert f"cannot reach Label Studio at {nowhere}" in capsys.readouterr().err
    assert not dataset.label_path("bright_a.jpg").exists()  # failed before labelling anything

    with _WebServer(dataset.root) as other:
        assert _label(dataset, other) == 1
        assert "does not answer like Label Studio" in capsys.readouterr().err

    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "0123456789abcdef" * 2)
    assert _label(dataset, server.url) == 1
    error = capsys.readouterr().err
    assert f"Label Studio at {server.url} refused the token" in error
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", token + "x")
    assert _label(dataset, server.url) == 1
    error = capsys.readouterr().err
    assert "refused the token" in error and token not in error

    monkeypatch.setenv("LABEL_STUDIO_API_KEY", token)
    api = LabelStudio.connect(server.url, token)
    config = labeling_config(["cup", "mug"]).decode()
    cups = api.request("POST", "/api/projects", {"title": "cups", "label_config": config})
    assert _label(dataset, server.url, "--project", str(cups["id"])) == 1
    error = capsys.readouterr().err
    assert f"project {cups['id']} ('cups')" in error and "labels cup, mug" in error
    assert _pull(dataset, server, 999_999) == 1
    assert f"no project 999999 at {server.url}" in capsys.readouterr().err


class _WebServer:
    """A plain web server (a folder listing), where a user might point --url by mistake."""

    def __init__(self, folder: Path) -> None:
        handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_selected_capture_goes_out_with_the_selecting_model_s_boxes(
    tmp_path, server, token, monkeypatch, capsys
):
    """`odet bag select` -> `odet bag export` -> `odet label --to labelstudio` with no model:
    the tasks carry the boxes and the name@version of the model that chose the frames."""
    config = SampleConfig(seed=5, segments=2, frames_per_segment=20, width=160, height=120)
    sample = write_sample(tmp_path / "sample", config, progress=False)
    selected, dataset_dir = tmp_path / "selected", tmp_path / "round2"
    assert main(["bag", "select", str(sample.bag), "--model", str(MODEL), "--topic", IMAGE_TOPIC,
                 "--per-minute", "600", "--out", str(selected)]) == 0  # fmt: skip
    assert main(["bag", "export", str(selected), "--out", str(dataset_dir)]) == 0
    kept = len(Prelabels.load(Dataset.open(dataset_dir)))
    assert kept > 0
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", token)
    assert main(["label", str(dataset_dir), "--to", "labelstudio", "--url", server.url]) == 0
    printed = capsys.readouterr().out
    assert f"{kept} new tasks ({kept} with predictions, 0 with annotations)" in printed
    api = LabelStudio.connect(server.url, token)
    name, version = model_identity(MODEL)
    for task in _tasks(api, _project_id(printed)).values():
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == f"{name}@{version}"
        assert len(prediction["result"]) == 1  # the model's one box


def test_a_segmentation_model_pushes_polygons_and_gets_them_back(
    tmp_path, server, token, monkeypatch, capsys, tiny_seg_models
):
    dataset = Dataset.create(server.document_root / tmp_path.name / "shapes")
    dataset.write_data_yaml(tiny_seg_models.names)
    for path in tiny_seg_models.images[:3]:
        shutil.copy(path, dataset.image_path(path.name))
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", token)
    model = str(tiny_seg_models.model("seg.onnx"))
    command = ["label", str(dataset.root), "--model", model, "--to", "labelstudio"]
    assert main([*command, "--url", server.url, "--conf", "0.25"]) == 0
    project = _project_id(capsys.readouterr().out)
    pushed = {p.name: parse_yolo(dataset.label_path(p).read_text()) for p in dataset.image_paths()}
    assert all(rows.polygons for rows in pushed.values())  # the masks' outlines

    api = LabelStudio.connect(server.url, token)
    assert "PolygonLabels" in api.request("GET", f"/api/projects/{project}")["label_config"]
    for task in _tasks(api, project).values():
        (prediction,) = task["predictions"]
        assert {r["type"] for r in prediction["result"]} == {"polygonlabels"}
        # the annotator accepts the outlines as they are
        api.request(
            "POST", f"/api/tasks/{task['id']}/annotations", {"result": prediction["result"]}
        )
    assert _pull(dataset, server, project) == 0
    for name, before in pushed.items():
        after = parse_yolo(dataset.label_path(name).read_text())
        assert after.polygons is not None and len(after.polygons) == len(before.polygons)
        for a, b in zip(after.polygons, before.polygons, strict=True):
            np.testing.assert_allclose(a, b, atol=2e-6)
    assert len(Prelabels.load(dataset)) == 0
