"""Class names from the label files and metadata other toolchains ship: plain lists, TensorFlow's
labelmap.txt with its ??? background, Coral's `<id> <name>` lines, the Object Detection API's
label_map.pbtxt, YOLOv5's meta.txt and TFLite Support's zipped label files; and telling a
YOLOv5 checkpoint from an Ultralytics one without unpickling it."""

from __future__ import annotations

import zipfile

import pytest

from odet_ros.detection import ModelError
from odet_ros.detection.labels import labels_beside, parse_label_lines, parse_pbtxt, read_labels
from odet_ros.detection.metadata import is_yolov5_checkpoint, model_info, read_tflite_metadata


def test_plain_lists_drop_a_background_first_line_only():
    assert parse_label_lines("cup\nbottle\n\n") == ["cup", "bottle"]
    assert parse_label_lines("???\ncup\n???\nbottle\n") == ["cup", "???", "bottle"]
    assert parse_label_lines("background\ncup\n") == ["cup"]
    assert parse_label_lines("3d printer\ncup\n") == ["3d printer", "cup"]  # not an id


def test_id_lines_index_by_their_ids_and_fill_gaps():
    assert parse_label_lines("0  person\n1  bicycle\n3  motorcycle\n") == [
        "person",
        "bicycle",
        "???",
        "motorcycle",
    ]


def test_pbtxt_ids_start_at_one_and_prefer_display_names():
    text = """
    item { id: 2 name: 'bottle' }
    item {
      name: "/m/cup"
      id: 1
      display_name: "paper cup"
    }
    item { id: 4 name: "can" }
    """
    assert parse_pbtxt(text) == ["paper cup", "bottle", "???", "can"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("labels.txt", "\n\n", "no class names"),
        ("map.pbtxt", "item { name: 'cup' }", "without a numeric id"),
        ("map.pbtxt", "nothing here", "no item"),
        ("labels.txt", "0 a\n99999 b\n", "not a label map"),
    ],
)
def test_bad_label_files_are_named(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ModelError, match=f"labels {path}: .*{message}"):
        read_labels(path)
    with pytest.raises(ModelError, match="cannot read"):
        read_labels(tmp_path / "missing.txt")


def test_the_first_known_label_file_beside_a_model_is_found(tmp_path):
    model = tmp_path / "m.tflite"
    assert labels_beside(model) is None
    (tmp_path / "label_map.pbtxt").write_text("item { id: 1 name: 'cup' }")
    assert labels_beside(model) == tmp_path / "label_map.pbtxt"
    (tmp_path / "labelmap.txt").write_text("???\ncup\n")
    assert labels_beside(model) == tmp_path / "labelmap.txt"


def _with_zip(path, entries):
    path.write_bytes(b"TFL3 flatbuffer bytes")
    with zipfile.ZipFile(path, "a") as archive:  # appended, as the metadata writers do
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def test_tflite_metadata_of_yolov5_and_tflite_support_give_names(tmp_path):
    yolov5 = _with_zip(tmp_path / "a.tflite", {"meta.txt": "{'stride': 32, 'names': {0: 'cup'}}"})
    assert model_info(read_tflite_metadata(yolov5)).names == ["cup"]
    support = _with_zip(tmp_path / "b.tflite", {"labelmap.txt": "???\ncup\ncan\n"})
    assert model_info(read_tflite_metadata(support)).names == ["cup", "can"]
    plain = tmp_path / "c.tflite"
    plain.write_bytes(b"TFL3")
    assert read_tflite_metadata(plain) == {}


def _checkpoint(path, pickle):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle)
    return path


def test_a_yolov5_checkpoint_is_told_by_the_classes_its_pickle_names(tmp_path):
    yolov5 = _checkpoint(tmp_path / "a.pt", b"\x80\x02cmodels.yolo\nDetectionModel\nq\x00")
    ultralytics = _checkpoint(tmp_path / "b.pt", b"\x80\x02cultralytics.nn.tasks\nDetectionModel\n")
    assert is_yolov5_checkpoint(yolov5)
    assert not is_yolov5_checkpoint(ultralytics)
    (tmp_path / "c.pt").write_bytes(b"not a zip")
    assert not is_yolov5_checkpoint(tmp_path / "c.pt")
