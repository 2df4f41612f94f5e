"""`odet label --to labelstudio`: the dataset's images as tasks of a live Label Studio project,
model pre-labels as predictions (model version and scores: annotators only correct them), a
person's labels as annotations.

Images reach the server one of two ways: ``upload`` (sent over HTTP, works with any server, a
copy lives in Label Studio) or ``local-files`` (a local storage on DATASET/images: nothing is
copied, for a server on this machine started with local files serving on). Re-running adds
only images the project does not have yet, and predictions to tasks that have none (a run cut
short between uploading a batch and predicting it is completed, not repeated).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from tqdm import tqdm

from odet_ros.dataset.annotations import read_dataset_labels
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.labels.labelstudio import image_name, shape_results
from odet_ros.labels.model import ImageLabels
from odet_ros.labels.polygons import rectangle
from odet_ros.labelstudio.client import LabelStudio
from odet_ros.labelstudio.errors import LabelStudioError
from odet_ros.labelstudio.project import POLYGON_CONTROL, Project, ensure_project

STORAGES = ("upload", "local-files")
DOCUMENT_ROOT_VARIABLE = "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"
UPLOAD_BATCH = 50  # images per upload request
IMPORT_BATCH = 500  # tasks or predictions per import request
_T = TypeVar("_T")


@dataclass
class PushReport:
    project: Project
    page: str  # the project's data manager, for the annotators
    created: bool = False
    added_classes: list[str] = field(default_factory=list)
    tasks: int = 0  # tasks created
    predictions: int = 0
    annotations: int = 0
    present: int = 0  # images the project already had


def uploaded_name(name: str) -> str:
    """The name Label Studio stores an uploaded file under (Django's ``get_valid_name``:
    spaces become underscores, characters other than letters, digits, ``-_.`` go)."""
    return re.sub(r"(?u)[^-\w.]", "", name.strip().replace(" ", "_"))


def default_title(dataset: Dataset) -> str:
    """The dataset's folder name, within Label Studio's 3 to 50 characters."""
    name = dataset.root.resolve().name
    return name[:50] if len(name) >= 3 else f"odet dataset {name}"


def push_dataset(
    dataset: Dataset,
    server: LabelStudio,
    *,
    project_id: int | None = None,
    title: str | None = None,
    storage: str = "upload",
    document_root: Path | None = None,
    progress: bool = False,
) -> PushReport:
    """Create or update the project and bring it the images it lacks."""
    if storage not in STORAGES:
        raise LabelStudioError(f"--storage must be one of {', '.join(STORAGES)}, got {storage!r}")
    prefix = _local_files_prefix(dataset, document_root) if storage == "local-files" else None
    names = dataset.names()
    title = title or default_title(dataset)
    if not 3 <= len(title) <= 50:
        raise LabelStudioError(f"--project-title must be 3 to 50 characters, got {title!r}")
    labels = read_dataset_labels(dataset)
    outlines = any(image.polygons is not None for image in labels.images)
    project, created, added = ensure_project(server, names, project_id, title, outlines)
    report = PushReport(project, f"{server.url}/projects/{project.id}/data", created, added)
    tasks = _tasks_by_image(server, project)
    todo = [image for image in labels.images if _task_of(tasks, image.name) is None]
    unpredicted = [
        (task["id"], image)
        for image in labels.images
        if (task := _task_of(tasks, image.name)) is not None
        and image.predicted
        and not task.get("total_predictions")
        and not task.get("total_annotations")
    ]
    report.present = len(labels.images) - len(todo)
    prelabels = Prelabels.load(dataset)
    push = _Push(server, project, names, prelabels, report)
    push.predict(unpredicted)
    with tqdm(total=len(todo), desc="label studio", unit="img", disable=not progress) as bar:
        if prefix is not None:
            push.ensure_local_storage(dataset.images_dir)
            for batch in _batches(todo, IMPORT_BATCH):
                push.import_local(batch, prefix)
                bar.update(len(batch))
        else:
            for batch in _batches(todo, UPLOAD_BATCH):
                push.upload(dataset, batch)
                bar.update(len(batch))
    return report


class _Push:
    """The requests of one push, counted into its report."""

    def __init__(
        self,
        server: LabelStudio,
        project: Project,
        names: list[str],
        prelabels: Prelabels,
        report: PushReport,
    ) -> None:
        self.server = server
        self.project = project
        self.names = names
        self.prelabels = prelabels
        self.report = report

    def results(self, image: ImageLabels) -> list[dict[str, Any]]:
        """The image's shapes as the project's control draws them: outlines as polygons (a box
        as its rectangle), or the boxes alone for a RectangleLabels project."""
        if self.project.kind == POLYGON_CONTROL and image.polygons is None:
            image = replace(image, polygons=[rectangle(box) for box in image.xyxy])
        elif self.project.kind != POLYGON_CONTROL:
            image = replace(image, polygons=None)
        return shape_results(self.names, image, 1, self.project.control, self.project.image)

    def prediction(self, image: ImageLabels) -> dict[str, Any]:
        scores = image.scores.tolist() if image.scores is not None else []
        return {
            "model_version": self.prelabels.model(Path(image.name).stem + ".txt") or "odet",
            "score": sum(scores) / len(scores) if scores else 0.0,
            "result": self.results(image),
        }

    def predict(self, tasks: Sequence[tuple[int, ImageLabels]]) -> None:
        """Predictions for existing tasks, in bulk."""
        for batch in _batches(list(tasks), IMPORT_BATCH):
            predictions = [{"task": task, **self.prediction(image)} for task, image in batch]
            path = f"/api/projects/{self.project.id}/import/predictions"
            self.server.request("POST", path, predictions)
            self.report.predictions += len(predictions)

    def annotate(self, task: int, image: ImageLabels) -> None:
        body = {"result": self.results(image)}
        self.server.request("POST", f"/api/tasks/{task}/annotations", body)
        self.report.annotations += 1

    def upload(self, dataset: Dataset, batch: list[ImageLabels]) -> None:
        """Upload a batch of images (each becomes a task), then predict or annotate them."""
        files = [(image.name, dataset.image_path(image.name).read_bytes()) for image in batch]
        self.server.request("POST", f"/api/projects/{self.project.id}/import", files=files)
        self.report.tasks += len(batch)
        tasks = _tasks_by_image(self.server, self.project)
        located = [(_task_of(tasks, image.name), image) for image in batch]
        missing = [image.name for task, image in located if task is None]
        if missing:
            raise LabelStudioError(
                f"{self.server.url}: uploaded {missing[0]} (and {len(missing) - 1} more) but no"
                f" task of project {self.project.id} shows it"
            )
        self.predict([(task["id"], image) for task, image in located if task and image.predicted])
        for task, image in located:
            if task is not None and image.labelled and not image.predicted:
                self.annotate(task["id"], image)

    def ensure_local_storage(self, images_dir: Path) -> None:
        """A local storage on ``images_dir`` for the project, which Label Studio requires
        before it serves a file under it."""
        query = {"project": self.project.id}
        storages = self.server.request("GET", "/api/storages/localfiles", query=query)
        wanted = images_dir.resolve()
        for storage in storages or []:
            if Path(storage.get("path", "")) in (wanted, *wanted.parents):
                return
        body = {
            "project": self.project.id,
            "path": str(wanted),
            "use_blob_urls": True,
            "title": "odet dataset images",
        }
        self.server.request("POST", "/api/storages/localfiles", body)

    def import_local(self, batch: list[ImageLabels], prefix: str) -> None:
        """Import a batch of tasks that point at the images in local storage, their predictions
        and annotations inline."""
        tasks = []
        for image in batch:
            task: dict[str, Any] = {"data": {self.project.image_key: prefix + quote(image.name)}}
            if image.predicted:
                task["predictions"] = [self.prediction(image)]
                self.report.predictions += 1
            elif image.labelled:
                task["annotations"] = [{"result": self.results(image)}]
                self.report.annotations += 1
            tasks.append(task)
        self.server.request("POST", f"/api/projects/{self.project.id}/import", tasks)
        self.report.tasks += len(tasks)


def _local_files_prefix(dataset: Dataset, document_root: Path | None) -> str:
    """The URL prefix under which Label Studio serves DATASET/images from local storage."""
    root = document_root or os.environ.get(DOCUMENT_ROOT_VARIABLE)
    if not root:
        raise LabelStudioError(
            f"--storage local-files needs the server's {DOCUMENT_ROOT_VARIABLE}: pass"
            " --document-root (the folder Label Studio was started with)"
        )
    images = dataset.images_dir.resolve()
    try:
        relative = images.relative_to(Path(root).resolve())
    except ValueError:
        raise LabelStudioError(
            f"{images} is not under --document-root {root}: Label Studio serves local files"
            " only from below its document root"
        ) from None
    return f"/data/local-files/?d={quote(relative.as_posix())}/"


def _tasks_by_image(server: LabelStudio, project: Project) -> dict[str, dict[str, Any]]:
    """The project's tasks by the image file name they show."""
    tasks = {}
    query = {"project": project.id, "fields": "all"}
    for task in server.pages("/api/tasks", "tasks", query):
        reference = (task.get("data") or {}).get(project.image_key)
        if isinstance(reference, str):
            tasks[image_name(reference)] = task
    return tasks


def _task_of(tasks: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The task of a dataset image, whether uploaded (its name as Label Studio stores it) or
    served from local storage (its own name)."""
    return tasks.get(name) or tasks.get(uploaded_name(name))


def _batches(items: list[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
