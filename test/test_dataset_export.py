"""`odet bag export`: every encoding from sqlite3 and mcap bags, pixel-exact PNG, resume, groups,
parallel runs identical to serial ones, and the capture node's sampler doing the sampling."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from support.dataset import (
    COMPRESSED,
    IMAGE,
    SECOND,
    START,
    compressed_image,
    files_of,
    raw_image,
    textured,
    write_bag,
)

from odet_ros.bags import BagWriter
from odet_ros.cli.main import main
from odet_ros.dataset import export as export_module
from odet_ros.dataset.bag_search import find_bags
from odet_ros.dataset.export import ExportSettings, Segment, export_bags, join_groups
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import read_manifest
from odet_ros.dataset.naming import frame_stem
from odet_ros.errors import OdetError
from odet_ros.imaging import ENCODINGS, to_numpy
from odet_ros.imaging import encodings as enc
from odet_ros.sampling import FrameSampler, SamplerSettings

HEIGHT, WIDTH = 6, 8
PICTURES = sorted(name for name, e in ENCODINGS.items() if e.layout is not None)
NOT_PICTURES = ["16UC1", "32FC1", "8UC3"]


def native(encoding: str, seed: int) -> np.ndarray:
    """Random pixels in the native layout of ``encoding``."""
    spec = ENCODINGS[encoding]
    rng = np.random.default_rng(seed)
    shape = spec.shape(spec.rows(HEIGHT), WIDTH)
    if spec.dtype.kind == "f":
        return rng.random(shape).astype(spec.dtype)
    return rng.integers(0, np.iinfo(spec.dtype).max, shape, dtype=spec.dtype, endpoint=True)


def every_encoding_bag(path, storage):
    """One Image per encoding (pictures and not), plus JPEG and PNG CompressedImages."""
    messages, sources, payloads = [], {}, {}
    for index, encoding in enumerate(PICTURES + NOT_PICTURES):
        pixels = native(encoding, index)
        topic = f"/cam/{encoding}"
        sources[topic] = pixels
        messages.append((topic, IMAGE, START + index, raw_image(pixels, encoding, START + index)))
    colour = textured(np.random.default_rng(7), HEIGHT, WIDTH)
    for fmt in ("png", "jpeg"):
        topic = f"/cam/compressed_{fmt}/compressed"
        sources[topic] = colour
        msg = compressed_image(colour, fmt, START)
        payloads[topic] = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_COLOR)
        messages.append((topic, COMPRESSED, START, msg))
    return write_bag(path, messages, storage), sources, payloads


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_every_encoding_exports_to_the_pixels_of_its_conversion(tmp_path, storage):
    bag, sources, payloads = every_encoding_bag(tmp_path / f"bag_{storage}", storage)
    settings = ExportSettings(image_format="png")
    report = export_bags([bag], tmp_path / "ds", settings, progress=False)

    rows = {row.topic: row for row in read_manifest(tmp_path / "ds" / "manifest.csv")}
    assert set(rows) == {t for t in sources if t.rsplit("/", 1)[-1] not in NOT_PICTURES}
    assert report.counts["not_picture"] == len(NOT_PICTURES)
    for topic, row in rows.items():
        on_disk = cv2.imread(str(tmp_path / "ds" / "images" / row.file), cv2.IMREAD_UNCHANGED)
        assert (row.width, row.height) == (WIDTH, HEIGHT)
        assert on_disk.dtype == np.uint8
        source = sources[topic]
        encoding = topic.rsplit("/", 1)[-1]
        if encoding in ENCODINGS:
            msg = raw_image(source, encoding, 0)
            grey = ENCODINGS[encoding].layout == enc.GRAY
            np.testing.assert_array_equal(on_disk, to_numpy(msg, "mono8" if grey else "bgr8"))
            assert row.encoding == encoding
    images = tmp_path / "ds" / "images"
    read = {t: cv2.imread(str(images / r.file), cv2.IMREAD_UNCHANGED) for t, r in rows.items()}
    # The 8-bit sources, checked against their own pixels: BGR on disk, as OpenCV writes.
    np.testing.assert_array_equal(read["/cam/bgr8"], sources["/cam/bgr8"])
    np.testing.assert_array_equal(read["/cam/rgb8"], sources["/cam/rgb8"][:, :, ::-1])
    np.testing.assert_array_equal(read["/cam/bgra8"], sources["/cam/bgra8"][:, :, :3])
    np.testing.assert_array_equal(read["/cam/rgba8"], sources["/cam/rgba8"][:, :, 2::-1])
    np.testing.assert_array_equal(read["/cam/mono8"], sources["/cam/mono8"])
    png = "/cam/compressed_png/compressed"
    np.testing.assert_array_equal(read[png], sources[png])  # lossless all the way
    jpeg = "/cam/compressed_jpeg/compressed"
    np.testing.assert_array_equal(read[jpeg], payloads[jpeg])  # the JPEG as decoded, no more loss


def test_names_manifest_and_groups(tmp_path):
    rng = np.random.default_rng(0)
    stamps = [START + i * SECOND // 10 for i in range(5)] + [
        START + 5 * SECOND + i for i in range(3)
    ]
    messages = [
        ("/cam/image", IMAGE, s, raw_image(textured(rng, 12, 16), "bgr8", s)) for s in stamps
    ]
    bag = write_bag(tmp_path / "run1", messages)
    export_bags([tmp_path], tmp_path / "ds", ExportSettings(group_gap_s=1.0), progress=False)

    with (tmp_path / "ds" / "manifest.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0])[:9] == [
        "file", "bag", "topic", "stamp_ns", "receive_ns", "width", "height", "encoding", "group"
    ]  # fmt: skip
    assert [r["file"] for r in rows] == [
        f"{frame_stem('run1', '/cam/image', s)}.jpg" for s in stamps
    ]
    assert [r["group"] for r in rows] == ["run1#0"] * 5 + ["run1#1"] * 3
    assert {r["bag"] for r in rows} == {bag.name}
    data = (tmp_path / "ds" / "data.yaml").read_text()
    assert f"path: {tmp_path / 'ds'}" in data


def test_bags_that_follow_each_other_share_a_group():
    segments = [
        Segment("part_1#0", 10 * SECOND + 1, 20 * SECOND),  # starts 1 ns after part_0 ends
        Segment("part_0#0", 0, 10 * SECOND),
        Segment("other#0", 5 * SECOND, 30 * SECOND),  # overlaps in time: another robot
        Segment("part_2#0", 25 * SECOND, 26 * SECOND),  # 5 s after part_1: a new sequence
    ]
    groups = join_groups(segments, 1.0)
    assert groups == {
        "part_0#0": "part_0#0",
        "part_1#0": "part_0#0",
        "other#0": "other#0",
        "part_2#0": "part_2#0",
    }
    assert join_groups(segments[::-1], 1.0) == groups


def small_bags(folder, count=3, frames=6):
    rng = np.random.default_rng(1)
    for b in range(count):
        stamps = [START + b * 100 * SECOND + i * SECOND // 15 for i in range(frames)]
        write_bag(
            folder / f"bag{b}",
            [("/cam", IMAGE, s, raw_image(textured(rng, 24, 32), "bgr8", s)) for s in stamps],
            "mcap" if b % 2 else "sqlite3",
        )
    return folder


def test_parallel_run_writes_the_same_files_as_a_serial_one(tmp_path):
    bags = small_bags(tmp_path / "bags")
    export_bags([bags], tmp_path / "serial", progress=False)
    export_bags([bags], tmp_path / "parallel", jobs=2, progress=False)
    serial, parallel = files_of(tmp_path / "serial"), files_of(tmp_path / "parallel")
    serial.pop("data.yaml"), parallel.pop("data.yaml")  # holds its own absolute path
    assert len(serial) == 3 * 6 + 1
    assert serial == parallel


def test_rerun_resumes_and_an_interrupted_run_leaves_no_partial_image(tmp_path, monkeypatch):
    bags = small_bags(tmp_path / "bags", count=1, frames=8)
    real_encode = export_module.encode_image
    calls = []

    def encode_then_fail(*args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_encode(*args)

    monkeypatch.setattr(export_module, "encode_image", encode_then_fail)
    with pytest.raises(KeyboardInterrupt):
        export_bags([bags], tmp_path / "ds", progress=False)
    images = tmp_path / "ds" / "images"
    assert sorted(p.name.startswith(".") for p in images.iterdir()) == [False] * 3
    assert all(cv2.imread(str(p)) is not None for p in images.iterdir())
    (images / ".left_by_a_crash.jpg.123.tmp").write_bytes(b"half")

    monkeypatch.setattr(export_module, "encode_image", real_encode)
    report = export_bags([bags], tmp_path / "ds", progress=False)
    assert (report.counts["existing"], report.counts["written"]) == (3, 5)
    assert len(list(images.iterdir())) == 8
    first = (tmp_path / "ds" / "manifest.csv").read_text()
    again = export_bags([bags], tmp_path / "ds", progress=False)
    assert (again.counts["existing"], again.counts["written"]) == (8, 0)
    assert (tmp_path / "ds" / "manifest.csv").read_text() == first


@pytest.mark.parametrize("image_format", ["jpg", "png"])
def test_images_a_power_cut_left_cut_or_empty_are_written_again(tmp_path, image_format):
    """Images are renamed into place but not synced one by one: after a power cut one may be
    empty or cut short, and a re-run must not take it for done."""
    bags = small_bags(tmp_path / "bags", count=1, frames=4)
    settings = ExportSettings(image_format=image_format)
    export_bags([bags], tmp_path / "ds", settings, progress=False)
    images = sorted((tmp_path / "ds" / "images").iterdir())
    whole = {p.name: p.read_bytes() for p in images}
    images[0].write_bytes(b"")
    images[1].write_bytes(whole[images[1].name][: len(whole[images[1].name]) // 2])
    report = export_bags([bags], tmp_path / "ds", settings, progress=False)
    assert (report.counts["incomplete"], report.counts["written"]) == (2, 2)
    assert {p.name: p.read_bytes() for p in images} == whole


def test_sampling_uses_the_capture_sampler(tmp_path):
    """Exported frames are exactly those FrameSampler keeps, fed the same frames and stamps."""
    rng = np.random.default_rng(3)
    distinct = [textured(rng, 48, 64) for _ in range(4)]
    frames = [distinct[i // 3] for i in range(12)]  # runs of three identical frames
    frames[7] = cv2.GaussianBlur(frames[7], (0, 0), 4)  # a blurred one
    stamps = [START + i * SECOND // 10 for i in range(12)]
    bag = write_bag(
        tmp_path / "bag",
        [("/cam", IMAGE, s, raw_image(f, "bgr8", s)) for s, f in zip(stamps, frames, strict=True)],
    )
    sampling = SamplerSettings(period=0.15, blur_threshold=50.0, duplicate_threshold=2.0)
    report = export_bags([bag], tmp_path / "ds", ExportSettings(sampling=sampling), progress=False)

    sampler = FrameSampler(sampling)
    expected = [s for s, f in zip(stamps, frames, strict=True) if sampler.offer(s, f).keep]
    exported = [row.stamp_ns for row in read_manifest(tmp_path / "ds" / "manifest.csv")]
    assert exported == expected
    assert 1 < len(exported) < 12
    kinds = ("too_soon", "blurred", "duplicate")
    assert {k: report.counts[k] for k in kinds} == {k: getattr(sampler.counters, k) for k in kinds}


def test_every_max_frames_and_time_range(tmp_path):
    rng = np.random.default_rng(4)
    stamps = [START + i * SECOND // 10 for i in range(20)]
    bag = write_bag(
        tmp_path / "bag",
        [("/cam", IMAGE, s, raw_image(textured(rng, 8, 8), "bgr8", s)) for s in stamps],
    )

    def exported(name, **settings):
        export_bags([bag], tmp_path / name, ExportSettings(**settings), progress=False)
        return [r.stamp_ns for r in read_manifest(tmp_path / name / "manifest.csv")]

    assert exported("every", every=3) == stamps[::3]
    assert exported("max", max_frames=4) == stamps[:4]
    assert exported("range", start_s=0.5, end_s=1.0) == stamps[5:10]


def test_bad_requests_are_refused_before_anything_is_written(tmp_path):
    bags = small_bags(tmp_path / "bags", count=1)
    with pytest.raises(OdetError, match="/nope is in none of 1 bag"):
        export_bags([bags], tmp_path / "ds", ExportSettings(topics=("/nope",)), progress=False)
    with pytest.raises(OdetError, match="no such bag"):
        export_bags([tmp_path / "missing"], tmp_path / "ds", progress=False)
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "manifest.csv").write_text("name,size\nx,1\n")
    with pytest.raises(OdetError, match=r"manifest.csv: wrong columns: file, bag"):
        export_bags([bags], tmp_path / "ds", progress=False)
    assert not (tmp_path / "ds" / "images").exists() or not any(
        (tmp_path / "ds" / "images").iterdir()
    )


def test_cli_exit_codes(tmp_path, capsys):
    stamps = [START, START + SECOND // 10]
    good = raw_image(textured(np.random.default_rng(5), 8, 8), "bgr8", stamps[0])
    broken = raw_image(np.zeros((8, 8, 3), np.uint8), "bgr8", stamps[1])
    broken.data = broken.data[:10]  # the row data is cut short: that frame cannot be decoded
    bag = write_bag(
        tmp_path / "bag", [("/cam", IMAGE, stamps[0], good), ("/cam", IMAGE, stamps[1], broken)]
    )

    assert main(["bag", "export", str(bag), "--out", str(tmp_path / "ds")]) == 1
    captured = capsys.readouterr()
    assert "1 frames written" in captured.out and "1 frames could not be decoded" in captured.err
    assert main(["bag", "export", str(bag), "--out", str(tmp_path / "ds"), "--quality", "0"]) == 1
    assert "--quality must be within 1-100" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["bag", "export", str(bag)])
    assert usage.value.code == 2


def test_a_frame_exported_in_the_other_format_is_not_exported_twice(tmp_path):
    bags = small_bags(tmp_path / "bags", count=1, frames=3)
    export_bags([bags], tmp_path / "ds", ExportSettings(image_format="jpg"), progress=False)
    report = export_bags(
        [bags], tmp_path / "ds", ExportSettings(image_format="png"), progress=False
    )
    assert (report.counts["existing"], report.counts["written"]) == (3, 0)
    assert sorted(p.suffix for p in (tmp_path / "ds" / "images").iterdir()) == [".jpg"] * 3
    assert all(r.file.endswith(".jpg") for r in read_manifest(tmp_path / "ds" / "manifest.csv"))


def test_a_recording_cut_short_exports_up_to_the_cut(tmp_path):
    writer = BagWriter(tmp_path / "bags" / "cut")
    writer.open()
    writer.add_topic("/cam", IMAGE)
    rng = np.random.default_rng(6)
    for index in range(5):
        stamp = START + index * SECOND // 10
        writer.write("/cam", stamp, raw_image(textured(rng, 8, 8), "bgr8", stamp))
    writer.abort()  # no metadata.yaml, no mcap index: a power cut
    parts = [tmp_path / "bags" / "split" / f"split_{n}.mcap" for n in range(2)]
    parts[0].parent.mkdir()
    for part in parts:
        part.write_bytes((tmp_path / "bags" / "cut" / "cut.mcap").read_bytes())

    assert find_bags([tmp_path / "bags"]) == [tmp_path / "bags" / "cut", parts[0].parent]
    report = export_bags([tmp_path / "bags" / "cut"], tmp_path / "ds", progress=False)
    assert report.counts["written"] == 5
    assert {r.bag for r in read_manifest(tmp_path / "ds" / "manifest.csv")} == {"cut"}


def test_classes_come_with_the_export(tmp_path, capsys):
    """data.yaml has classes before anyone labels: --classes sets them, a later run adds new
    ones after those the label files already use, and a list that would renumber them is
    refused before anything is written."""
    bags = small_bags(tmp_path / "bags", count=1, frames=3)
    out = tmp_path / "ds"
    assert main(["bag", "export", str(bags), "--out", str(out)]) == 0
    assert "classes: none yet (--classes sets them)" in capsys.readouterr().out
    assert main(["bag", "export", str(bags), "--out", str(out), "--classes", "cup, bottle"]) == 0
    assert "classes: cup, bottle" in capsys.readouterr().out
    assert Dataset.open(out).names() == ["cup", "bottle"]
    assert main(["bag", "export", str(bags), "--out", str(out), "--classes", "cup,bottle,can"]) == 0
    assert Dataset.open(out).names() == ["cup", "bottle", "can"]
    assert main(["bag", "export", str(bags), "--out", str(out), "--classes", "cup"]) == 0
    assert Dataset.open(out).names() == ["cup", "bottle", "can"]  # a prefix: nothing to add

    before = files_of(out)
    assert main(["bag", "export", str(bags), "--out", str(out), "--classes", "bottle,cup"]) == 1
    assert "has cup,bottle,can already" in capsys.readouterr().err
    assert files_of(out) == before
    with pytest.raises(OdetError, match="distinct, non-empty"):
        ExportSettings(classes=("cup", "cup"))
