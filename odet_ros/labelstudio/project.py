"""The Label Studio project a dataset is labelled in: found by id or title, created with the
dataset's classes (a RectangleLabels interface, or PolygonLabels for a dataset of outlines), or
given the classes it lacks; refused when it labels classes the dataset does not have (its
annotations would come back as classes nobody trained for)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from odet_ros.labels.labelstudio import labeling_config
from odet_ros.labelstudio.client import LabelStudio
from odet_ros.labelstudio.errors import LabelStudioError

RECTANGLE_CONTROL = "RectangleLabels"
POLYGON_CONTROL = "PolygonLabels"
CONTROLS = (RECTANGLE_CONTROL, POLYGON_CONTROL)


@dataclass(frozen=True)
class Project:
    """A project and the names its shapes use: the RectangleLabels or PolygonLabels control
    (``control``, of type ``kind``), the image it labels (``image``) and the task data key of
    that image (``image_key``)."""

    id: int
    title: str
    classes: list[str]
    control: str
    image: str
    image_key: str
    label_config: str
    kind: str = RECTANGLE_CONTROL


def open_project(server: LabelStudio, project_id: int) -> Project:
    try:
        answer = server.request("GET", f"/api/projects/{project_id}")
    except LabelStudioError as error:
        if error.status != 404:
            raise
        raise LabelStudioError(
            f"no project {project_id} at {server.url} that this token can open (--project is"
            " the number in the project's address: /projects/<id>/data)",
            404,
        ) from None
    return _project(server, answer)


def find_project(server: LabelStudio, title: str) -> Project | None:
    """The oldest project called ``title``, if any."""
    for answer in sorted(
        server.pages("/api/projects", "results", {"title": title}), key=lambda p: p["id"]
    ):
        if answer.get("title") == title:
            return open_project(server, int(answer["id"]))
    return None


def ensure_project(
    server: LabelStudio,
    names: list[str],
    project_id: int | None,
    title: str,
    outlines: bool = False,
) -> tuple[Project, bool, list[str]]:
    """The project to push to (``project_id``, else the one called ``title``, else a new one
    called ``title``, with polygons for ``outlines``), whose labelling interface has every
    class in ``names``; whether it was created, and the classes added to it."""
    project = open_project(server, project_id) if project_id else find_project(server, title)
    if project is None:
        config = labeling_config(names, outlines).decode()
        answer = server.request("POST", "/api/projects", {"title": title, "label_config": config})
        return _project(server, answer), True, []
    others = [name for name in project.classes if name not in names]
    if others:
        raise LabelStudioError(
            f"Label Studio project {project.id} ({project.title!r}) at {server.url} labels"
            f" {', '.join(others)}, which the dataset's data.yaml does not have"
            f" ({', '.join(names)}): push to another project (--project-title), or add the"
            " classes to data.yaml"
        )
    missing = [name for name in names if name not in project.classes]
    if missing:
        config = _with_labels(project, missing)
        server.request("PATCH", f"/api/projects/{project.id}", {"label_config": config})
        project = open_project(server, project.id)
    return project, False, missing


def _project(server: LabelStudio, answer: Any) -> Project:
    where = f"Label Studio project {answer.get('id')} at {server.url}"
    parsed = answer.get("parsed_label_config") or {}
    controls = [(name, control) for name, control in parsed.items() if control["type"] in CONTROLS]
    if len(controls) != 1:
        raise LabelStudioError(
            f"{where}: its labelling interface has {len(controls)} RectangleLabels or"
            " PolygonLabels controls; odet pushes boxes or outlines to a project with exactly"
            " one (use another project)"
        )
    name, control = controls[0]
    image = control["to_name"][0]
    inputs = [i for i in control.get("inputs", []) if i.get("type") == "Image"]
    if not inputs:
        raise LabelStudioError(f"{where}: its {control['type']} control labels no Image")
    return Project(
        id=int(answer["id"]),
        title=str(answer.get("title", "")),
        classes=[str(label) for label in control.get("labels", [])],
        control=name,
        image=image,
        image_key=str(inputs[0]["value"]),
        label_config=str(answer["label_config"]),
        kind=str(control["type"]),
    )


def _with_labels(project: Project, names: list[str]) -> str:
    """The project's labelling interface with ``names`` added to its shape control; the rest
    of it (colours, hotkeys, other controls) as the team set it up."""
    root = ET.fromstring(project.label_config)
    control = next(
        element for element in root.iter(project.kind) if element.get("name") == project.control
    )
    for name in names:
        ET.SubElement(control, "Label", value=name)
    return ET.tostring(root, encoding="unicode")
