"""`odet dataset import --from labelstudio`: a live project's annotations onto the dataset.

By default only completed tasks (Label Studio's own "Completed": every annotation the project
asks for is submitted) come back; ``all_tasks`` takes every task with a submitted annotation.
The export is kept in DATASET/labelling/labelstudio/ (what was pulled, for the record), then
goes through the same matching, checks and class mapping as a file import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from odet_ros.atomic import write_text_atomic
from odet_ros.dataset.importing import ImportReport, import_label_set
from odet_ros.dataset.layout import Dataset
from odet_ros.labels.labelstudio import labels_of_tasks
from odet_ros.labelstudio.client import LabelStudio
from odet_ros.labelstudio.project import open_project
from odet_ros.labelstudio.push import uploaded_name

EXPORT_FOLDER = Path("labelling") / "labelstudio"


@dataclass
class PullReport:
    imported: ImportReport
    tasks: int  # tasks pulled
    unfinished: int  # tasks with annotations left out: not completed yet
    saved: Path  # the export as pulled


def pull_labels(
    dataset: Dataset,
    server: LabelStudio,
    project_id: int,
    *,
    all_tasks: bool = False,
    mapping: dict[str, str | None] | None = None,
    boxes_only: bool = False,
) -> PullReport:
    """Import project ``project_id``'s annotations into ``dataset`` (their boxes alone with
    ``boxes_only``)."""
    project = open_project(server, project_id)
    query = {"exportType": "JSON", "download_all_tasks": "false"}
    tasks = server.request("GET", f"/api/projects/{project.id}/export", query=query) or []
    unfinished = 0
    if not all_tasks:
        listing = server.pages("/api/tasks", "tasks", {"project": project.id, "fields": "all"})
        completed = {task["id"] for task in listing if task.get("is_labeled")}
        unfinished = sum(1 for task in tasks if task.get("id") not in completed)
        tasks = [task for task in tasks if task.get("id") in completed]
    saved = dataset.root / EXPORT_FOLDER / f"project_{project.id}_export.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(saved, json.dumps(tasks, indent=1))
    where = f"Label Studio project {project.id} at {server.url}"
    labels = labels_of_tasks(tasks, where)
    by_upload_name = {uploaded_name(p.name): p.name for p in dataset.image_paths()}
    labels.images = [
        replace(image, name=by_upload_name.get(image.name, image.name)) for image in labels.images
    ]
    imported = import_label_set(dataset, labels, where, mapping, boxes_only)
    return PullReport(imported, len(tasks), unfinished, saved)
