"""Malformed label sources: a clear one-line error naming the file (and line), nothing written."""

from __future__ import annotations

import re
import zipfile

import pytest
from support.dataset import files_of, make_dataset

from odet_ros.cli.main import main
from odet_ros.dataset.importing import import_labels
from odet_ros.dataset.split import split_dataset
from odet_ros.errors import OdetError
from odet_ros.labels.classes import parse_mapping

GOOD_VOC = "<annotation><filename>a.jpg</filename><size><width>10</width><height>10</height></size>"

COCO_ONE = (
    '{"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}], "categories":'
    ' [{"id": 1, "name": "x"}], "annotations": [{"id": 5, "image_id": 1, "category_id": 1,'
    ' "bbox": [0, 0, 2, 2], "segmentation": SEGMENTATION}]}'
)

CASES = {
    "coco bad json": (
        "coco",
        "labels.json",
        '{"images": [\n  {"id": 1,]\n}',
        r"labels.json:2:\d+: not valid JSON",
    ),
    "coco keys": (
        "coco",
        "labels.json",
        '{"images": []}',
        r"labels.json: a COCO file needs images",
    ),
    "coco category": (
        "coco",
        "labels.json",
        '{"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}], "categories": [],'
        ' "annotations": [{"id": 5, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]}]}',
        r"labels.json: annotation 5 has category 2, which is not in categories",
    ),
    "coco bbox": (
        "coco",
        "labels.json",
        '{"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}], "categories":'
        ' [{"id": 1, "name": "x"}], "annotations": [{"id": 5, "image_id": 1, "category_id": 1,'
        ' "bbox": "wide"}]}',
        r"labels.json: not a COCO detection file",
    ),
    "coco annotation": (
        "coco",
        "labels.json",
        '{"images": [], "categories": [], "annotations": [{"id": 1}, 7]}',
        r"labels.json: annotations\[1\] is not an object: 7",
    ),
    "coco images": (
        "coco",
        "labels.json",
        '{"images": {"id": 1}, "categories": [], "annotations": []}',
        r"labels.json: images must be a list, not dict",
    ),
    "voc bad xml": (
        "voc",
        "a.xml",
        GOOD_VOC + "<object><name>x</name>\n</annotation>",
        r"a.xml:2:\d+: not well-formed XML",
    ),
    "voc no size": (
        "voc",
        "a.xml",
        "<annotation><filename>a.jpg</filename></annotation>",
        r"a.xml: <size/width> is None, not a number",
    ),
    "voc box": (
        "voc",
        "a.xml",
        GOOD_VOC + "<object><name>x</name><bndbox><xmin>1</xmin></bndbox></object></annotation>",
        r"a.xml: <bndbox/ymin> is None, not a number",
    ),
    "cvat root": (
        "cvat",
        "annotations.xml",
        "<annotation/>",
        r"annotations.xml: root element is <annotation>, expected <annotations>",
    ),
    "cvat corner": (
        "cvat",
        "annotations.xml",
        '<annotations><image name="a.jpg" width="4" height="4">'
        '<box label="x" xtl="1" ytl="1" xbr="2"/></image></annotations>',
        r"annotations.xml: <box> attribute ybr is None, not a number",
    ),
    "labelstudio json": ("labelstudio", "export.json", "[{]", r"export.json:1:\d+: not valid JSON"),
    "labelstudio shape": (
        "labelstudio",
        "export.json",
        "3",
        r"export.json: a Label Studio export is a list of tasks",
    ),
    "labelstudio task": (
        "labelstudio",
        "export.json",
        '[{"annotations": []}]',
        r"export.json: task 1 is malformed",
    ),
    "yolo columns": (
        "yolo",
        "labels/a.txt",
        "0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2\n",
        r"a.txt:2: 4 values; expected 5",
    ),
    "yolo number": ("yolo", "labels/a.txt", "0 0.5 half 0.2 0.2\n", r"a.txt:1: not a number in"),
    "yolo infinite": ("yolo", "labels/a.txt", "inf 0.5 0.5 0.2 0.2\n", r"a.txt:1: not a number in"),
    "yolo nan": ("yolo", "labels/a.txt", "0 nan 0.5 0.2 0.2\n", r"a.txt:1: not a number in"),
    "voc size": (
        "voc",
        "a.xml",
        "<annotation><filename>a.jpg</filename><size><width>inf</width><height>4</height></size>"
        "</annotation>",
        r"a.xml: <size/width> is 'inf', not a number",
    ),
    "cvat size": (
        "cvat",
        "annotations.xml",
        '<annotations><image name="a.jpg" width="nan" height="4"/></annotations>',
        r"annotations.xml: <image> attribute width is 'nan', not a number",
    ),
    "cvat empty size": (
        "cvat",
        "annotations.xml",
        '<annotations><image name="a.jpg" width="0" height="4"/></annotations>',
        r"annotations.xml: <image name='a.jpg'> is 0x4",
    ),
    "labelstudio no image": (
        "labelstudio",
        "export.json",
        '[{"data": {"n": 3}, "annotations": [{"result": []}]}]',
        r"export.json: task 1 is malformed .*its data names no image",
    ),
    "labelstudio result": (
        "labelstudio",
        "export.json",
        '[{"data": {"image": "a.jpg"}, "annotations": [{"result": ["box"]}]}]',
        r"export.json: task 1 is malformed \(AttributeError",
    ),
    "yolo class": (
        "yolo",
        "labels/a.txt",
        "1.5 0.5 0.5 0.2 0.2\n",
        r"a.txt:1: class must be an integer",
    ),
    "yolo names": ("yolo", "labels/a.txt", "0 0.5 0.5 0.2 0.2\n", r"no class names"),
    "coco polygon": (
        "coco",
        "labels.json",
        COCO_ONE.replace("SEGMENTATION", "[[1, 1, 2, 2]]"),
        r"labels.json: annotation 5: a segmentation polygon needs x, y pairs, three or more",
    ),
    "coco polygon value": (
        "coco",
        "labels.json",
        COCO_ONE.replace("SEGMENTATION", '[[1, 1, 2, "x", 3, 1]]'),
        r"labels.json: not a COCO detection file",
    ),
    "coco rle": (
        "coco",
        "labels.json",
        COCO_ONE.replace("SEGMENTATION", '{"size": [4, 4], "counts": [3, 2]}'),
        r"labels.json: annotation 5: RLE counts cover 5 pixels, not 4x4",
    ),
    "coco rle string": (
        "coco",
        "labels.json",
        COCO_ONE.replace("SEGMENTATION", '{"size": [4, 4], "counts": "0\\u00ff"}'),
        r"labels.json: annotation 5: not a COCO RLE segmentation",
    ),
    "coco rle empty": (
        "coco",
        "labels.json",
        COCO_ONE.replace("SEGMENTATION", '{"size": [4, 4], "counts": [16]}'),
        r"labels.json: annotation 5: its RLE mask is empty",
    ),
    "labelstudio polygon": (
        "labelstudio",
        "export.json",
        '[{"data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": "polygonlabels",'
        ' "value": {"points": [[1, 2], [3, 4]], "polygonlabels": ["x"]}}]}]}]',
        r"export.json: task 1 is malformed .*a polygon needs three finite points",
    ),
    "labelstudio brush": (
        "labelstudio",
        "export.json",
        '[{"data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": "brushlabels",'
        ' "original_width": 4, "original_height": 4,'
        ' "value": {"format": "rle", "rle": [0, 0, 1], "brushlabels": ["x"]}}]}]}]',
        r"export.json: task 1 is malformed .*the bit stream ends early",
    ),
    "labelstudio brush size": (
        "labelstudio",
        "export.json",
        '[{"data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": "brushlabels",'
        ' "value": {"format": "rle", "rle": [0], "brushlabels": ["x"]}}]}]}]',
        r"export.json: task 1 is malformed .*needs format rle and original_width",
    ),
    "cvat polygon": (
        "cvat",
        "annotations.xml",
        '<annotations><image name="a.jpg" width="4" height="4">'
        '<polygon label="x" points="1,2;3"/></image></annotations>',
        r"annotations.xml: <polygon> points '1,2;3' are not three x,y pairs or more",
    ),
    "yolo polygon values": (
        "yolo",
        "labels/a.txt",
        "0 0.1 0.1 0.4 0.1 0.2\n",
        r"a.txt:1: 6 values; expected 5 \(class cx cy w h\) or a polygon",
    ),
    "yolo mixed rows": (
        "yolo",
        "labels/a.txt",
        "0 0.1 0.1 0.4 0.1 0.2 0.4\n0 0.5 0.5 0.2 0.2\n",
        r"a.txt:2: a box row among polygon rows",
    ),
}


@pytest.fixture
def dataset(tmp_path):
    return make_dataset(tmp_path / "ds", ["x"], {"a.jpg": [[0, 0.5, 0.5, 0.2, 0.2]], "b.jpg": None})


@pytest.mark.parametrize("case", CASES)
def test_malformed_source_fails_naming_it_and_writes_nothing(tmp_path, dataset, case):
    fmt, name, content, message = CASES[case]
    source = tmp_path / "source"
    path = source / name
    path.parent.mkdir(parents=True)
    path.write_text(content)
    if fmt == "yolo" and case != "yolo names":
        (source / "data.yaml").write_text("names: [x]\n")
    before = files_of(dataset.root)
    with pytest.raises(OdetError, match=message) as caught:
        import_labels(dataset, fmt, source)
    named = source if case == "yolo names" else path  # no names file: the folder is at fault
    assert str(named) in str(caught.value)
    assert files_of(dataset.root) == before


def test_the_cli_prints_one_line_and_exits_1(tmp_path, dataset, capsys):
    bad = tmp_path / "labels.json"
    bad.write_text("{")
    code = main(["dataset", "import", "--format", "coco", str(bad), "--into", str(dataset.root)])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("odet dataset: error:") and str(bad) in err


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../escape.json", "a path leaving the archive with '..'"),
        ("labels/../../escape.json", "a path leaving the archive with '..'"),
        ("/etc/escape.json", "an absolute path"),
        ("C:\\escape.json", "an absolute path"),
    ],
)
def test_zip_members_escaping_the_target_are_refused(tmp_path, dataset, member, reason):
    archive = tmp_path / "inner" / "labels.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("a.json", "[]")
        bundle.writestr(member, "[]")
    before = files_of(tmp_path)
    with pytest.raises(OdetError, match=re.escape(f"{archive}: member {member!r} is {reason}")):
        import_labels(dataset, "labelstudio", archive)
    assert files_of(tmp_path) == before  # nothing extracted anywhere, nothing imported


def test_a_zip_link_member_is_refused(tmp_path, dataset):
    archive = tmp_path / "labels.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        link = zipfile.ZipInfo("link.json")
        link.external_attr = 0o120777 << 16  # a symbolic link, as zip -y stores it
        bundle.writestr(link, "/etc/passwd")
    with pytest.raises(OdetError, match=r"member 'link.json' is a symbolic link"):
        import_labels(dataset, "labelstudio", archive)


def test_errors_inside_a_zip_name_the_member(tmp_path, dataset):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("project/annotations.xml", "<annotations><image></annotations>")
    with pytest.raises(OdetError, match=re.escape(f"{archive}:project/annotations.xml:1:")):
        import_labels(dataset, "cvat", archive)


def test_not_a_zip_and_missing_sources(tmp_path, dataset):
    with pytest.raises(OdetError, match="no such file or folder"):
        import_labels(dataset, "coco", tmp_path / "missing.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(OdetError, match=r"empty: expected one .json file, found no"):
        import_labels(dataset, "coco", empty)


def test_wrong_manifest_columns_and_bad_mappings(dataset):
    dataset.manifest_path.write_text("file,bag\na.jpg,x\n")
    before = files_of(dataset.root)
    with pytest.raises(OdetError, match=r"manifest.csv: wrong columns: topic, stamp_ns"):
        split_dataset(dataset)
    assert files_of(dataset.root) == before
    dataset.manifest_path.write_text(
        "file,bag,topic,stamp_ns,receive_ns,width,height,encoding,group\na.jpg,b,/c,soon,1,2,3,e,g\n"
    )
    with pytest.raises(OdetError, match=r"manifest.csv:2: a stamp or size is not an integer"):
        split_dataset(dataset)
    with pytest.raises(OdetError, match="--map 'cup': expected OLD=NEW"):
        parse_mapping(["cup"])
