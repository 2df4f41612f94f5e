"""Reading a split of a YOLO-layout dataset for evaluation: YAML forms, image lists, labels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.reader import label_path, load_split, read_labels


def image(path, height=40, width=80):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((height, width, 3), np.uint8))
    return path


def labels(image_path, text):
    path = label_path(image_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_folder_split_with_dict_names_and_relative_path(tmp_path):
    root = tmp_path / "set"
    for name in ("b.png", "a.jpg", "sub/c.png"):
        image(root / "images" / "val" / name)
    (root / "images" / "val" / "notes.txt").write_text("not an image")
    (tmp_path / "data.yaml").write_text("path: set\nval: images/val\nnames: {1: car, 0: person}\n")
    split = load_split(tmp_path / "data.yaml", "val")
    assert split.names == ["person", "car"]
    assert [s.image.relative_to(root / "images" / "val").as_posix() for s in split.samples] == [
        "a.jpg",
        "b.png",
        "sub/c.png",
    ]
    assert split.samples[0].labels == root / "labels" / "val" / "a.txt"


def test_dataset_folder_with_list_files_and_list_names(tmp_path):
    for name in ("x.png", "y.png", "z.png"):
        image(tmp_path / "images" / name)
    (tmp_path / "val.txt").write_text("./images/y.png\nimages/x.png\n\n")
    (tmp_path / "test.txt").write_text(f"{tmp_path / 'images' / 'z.png'}\n")
    (tmp_path / "data.yaml").write_text("names: [person, car]\nval: val.txt\n")
    assert [s.image.name for s in load_split(tmp_path, "val").samples] == ["x.png", "y.png"]
    # a split the YAML does not name is found at <root>/<split>.txt
    assert [s.image.name for s in load_split(tmp_path, "test").samples] == ["z.png"]


def test_split_folders_found_without_yaml_entries(tmp_path):
    image(tmp_path / "images" / "test" / "a.png")
    (tmp_path / "dataset.yaml").write_text("nc: 2\n")
    split = load_split(tmp_path, "test")
    assert split.names == ["class_0", "class_1"]
    assert len(split.samples) == 1


def test_labels_in_pixels_polygons_as_boxes_duplicates_dropped(tmp_path):
    path = labels(
        tmp_path / "images" / "a.png",
        "0 0.5 0.5 0.5 0.5\n\n1 0.1 0.2 0.3 0.2 0.2 0.6\n0 0.5 0.5 0.5 0.5\n",
    )
    truth = read_labels(path, width=200, height=100, num_classes=2)
    assert truth.class_ids.tolist() == [0, 1]
    np.testing.assert_allclose(truth.xyxy, [[50, 25, 150, 75], [20, 20, 60, 60]])


def test_missing_and_empty_label_files_mean_no_objects(tmp_path):
    assert len(read_labels(tmp_path / "none.txt", 10, 10, 1).class_ids) == 0
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert read_labels(empty, 10, 10, 1).xyxy.shape == (0, 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 0.5 0.5 0.5\n", r"bad\.txt:1: expected 'class cx cy w h'"),
        ("0 0.5 0.5 0.5 0.5\nperson 0.5 0.5 0.5 0.5\n", r"bad\.txt:2: not numbers"),
        ("\n3 0.5 0.5 0.5 0.5\n", r"bad\.txt:2: class id outside 0\.\.1"),
        ("0 120 80 30 40\n", r"bad\.txt:1: coordinates not normalised"),
    ],
)
def test_malformed_labels_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_labels(path, 100, 100, num_classes=2)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("val: images\n", "names must be"),
        ("names: {0: a, 2: b}\nval: images\n", r"names keys must be 0\.\.1"),
        ("names: [a]\nnc: 3\nval: images\n", "nc is 3 but names has 1"),
        ("names: [a]\nval: missing\n", "missing does not exist"),
        ("names: [a]\n", "no 'val' split"),
        ("names: [a\n", "cannot read"),
        ("names: [a]\nval: empty\n", "split 'val' has no images"),
    ],
)
def test_bad_dataset_yaml_names_the_file(tmp_path, yaml_text, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "data.yaml").write_text(yaml_text)
    with pytest.raises(DatasetError, match=message) as error:
        load_split(tmp_path / "data.yaml", "val")
    assert "data.yaml" in str(error.value)


def test_missing_dataset_and_unknown_split(tmp_path):
    with pytest.raises(DatasetError, match=r"no data\.yaml or dataset\.yaml"):
        load_split(tmp_path)
    with pytest.raises(DatasetError, match="no such dataset"):
        load_split(tmp_path / "nothing.yaml")
    with pytest.raises(DatasetError, match="split must be one of train, val, test"):
        load_split(tmp_path, "holdout")


def test_boxes_reaching_past_the_edge_are_clipped_to_the_image(tmp_path):
    path = tmp_path / "edge.txt"
    path.write_text("0 0.98 0.5 0.1 0.2\n")
    truth = read_labels(path, width=100, height=50, num_classes=1)
    np.testing.assert_allclose(truth.xyxy, [[93, 20, 100, 30]])
