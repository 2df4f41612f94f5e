"""Label files damaged in many small ways read as labels or fail with a clear LabelFormatError,
never a traceback: each format's own export of a small label set, mutated (JSON values and keys,
XML elements, attributes and text, YOLO tokens) under fixed seeds."""

from __future__ import annotations

import copy
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from odet_ros.errors import OdetError
from odet_ros.labels.formats import FORMATS, read_labels
from odet_ros.labels.model import ImageLabels, LabelSet

MUTANTS = 60  # per format; a few seconds in all
ODD_VALUES = [None, -1, 0, 1e308, "x", [], {}, [1, 2], True, float("nan"), 10**30, ""]
ODD_TEXTS = ["", "x", "-1", "nan", "inf", "1e999", "0"]


def label_set(outlines: bool = False) -> LabelSet:
    boxes = np.array([[0.1, 0.2, 0.4, 0.6], [0.5, 0.5, 0.9, 0.8]])
    polygons = [
        np.array([[0.1, 0.2], [0.4, 0.2], [0.3, 0.6]]),
        np.array([[0.5, 0.5], [0.9, 0.8], [0.6, 0.8]]),
    ]
    images = [
        ImageLabels(
            f"frame_{n}.jpg",
            boxes.copy(),
            np.array([0, 1]),
            640,
            480,
            polygons=polygons if outlines else None,
        )
        for n in range(3)
    ]
    return LabelSet(["cup", "can"], images)


def mutate_json(value: object, rng: random.Random) -> None:
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.3:
            del value[key]
        elif roll < 0.6:
            value[key] = rng.choice(ODD_VALUES)
        else:
            mutate_json(value[key], rng)
    elif isinstance(value, list) and value:
        index = rng.randrange(len(value))
        if rng.random() < 0.3:
            value[index] = rng.choice(ODD_VALUES)
        else:
            mutate_json(value[index], rng)


def mutate_xml(root: ET.Element, rng: random.Random) -> None:
    element = rng.choice(list(root.iter()))
    roll = rng.random()
    if roll < 0.3 and element.attrib:
        name = rng.choice(list(element.attrib))
        element.attrib[name] = rng.choice(ODD_TEXTS)
    elif roll < 0.6:
        element.text = rng.choice(ODD_TEXTS)
    else:
        parents = [e for e in root.iter() if len(e)]
        parent = rng.choice(parents)
        parent.remove(rng.choice(list(parent)))


def mutate(name: str, text: str, rng: random.Random) -> str:
    if name.endswith(".json"):
        document = json.loads(text)
        for _ in range(rng.randrange(1, 4)):
            mutate_json(document, rng)
        return json.dumps(document)
    if name.endswith(".xml"):
        root = ET.fromstring(text)
        for _ in range(rng.randrange(1, 4)):
            mutate_xml(root, rng)
        return ET.tostring(root, encoding="unicode")
    tokens = text.split(" ")
    tokens[rng.randrange(len(tokens))] = rng.choice(ODD_TEXTS)
    return " ".join(tokens)


@pytest.mark.parametrize(
    ("label_format", "outlines"),
    [
        *((name, False) for name in ("coco", "labelstudio", "cvat", "voc", "yolo")),
        *((name, True) for name in ("coco", "labelstudio", "cvat", "yolo")),
    ],
)
def test_mutated_exports_read_or_fail_clearly(tmp_path: Path, label_format: str, outlines: bool):
    files = FORMATS[label_format].encode(label_set(outlines))
    rng = random.Random(label_format)
    outcomes = {"read": 0, "refused": 0}
    for number in range(MUTANTS):
        folder = tmp_path / str(number)
        victim = rng.choice(
            sorted(name for name in files if name.endswith((".json", ".xml", ".txt")))
        )
        for name, data in files.items():
            text = data.decode()
            if name == victim and text.strip():
                text = mutate(name, copy.copy(text), rng)
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        source = folder if len(files) > 1 else folder / next(iter(files))
        try:
            read_labels(label_format, source)
            outcomes["read"] += 1
        except OdetError as error:
            assert str(error), "an error must say what is wrong"
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0  # the mutations do break files, so this checks something
