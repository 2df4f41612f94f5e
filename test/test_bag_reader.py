"""read_messages / open_bags: sqlite3 and mcap bags, several bags in time order, filters, bag-
defined types, and bags cut short (truncated mcap, missing metadata.yaml) read up to the cut."""

from __future__ import annotations

import io
import logging
import re
import struct

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap.records import Chunk, MessageIndex
from mcap.stream_reader import StreamReader
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg
from rosbags.typesys.store import Typestore
from support.bags import (
    DETECTIONS,
    IMAGE,
    SECOND,
    TYPESTORE,
    assert_same_fields,
    detections,
    image,
    write_sample_bag,
)

from odet_ros.bags import BagError, BagWriter, open_bags, read_messages


def write_rosbags_bag(
    path, messages, storage=StoragePlugin.SQLITE3, typestore=TYPESTORE, zstd=False
):
    """A bag written by rosbags' own Writer; ``messages``: (topic, msgtype, timestamp, msg)."""
    writer = Writer(path, version=9, storage_plugin=storage)
    if zstd:
        writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    with writer:
        connections = {}
        for topic, msgtype, timestamp, msg in messages:
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=typestore)
            writer.write(connections[topic], timestamp, typestore.serialize_cdr(msg, msgtype))


def camera_and_detections(stamps):
    return [
        (topic, msgtype, stamp, build(stamp))
        for stamp in stamps
        for topic, msgtype, build in (
            ("/image", IMAGE, image),
            ("/detections", DETECTIONS, detections),
        )
    ]


def test_sqlite3_bag_reads_field_for_field(tmp_path):
    written = camera_and_detections([SECOND * i for i in range(1, 6)])
    write_rosbags_bag(tmp_path / "bag", written)
    read = list(read_messages(tmp_path / "bag"))
    assert [(m.topic, m.msgtype, m.timestamp) for m in read] == [
        (t, ty, s) for t, ty, s, _ in written
    ]
    for message, (_, _, _, msg) in zip(read, written, strict=True):
        assert_same_fields(message.msg, msg)
        assert message.bag == tmp_path / "bag"
    assert TYPESTORE.deserialize_cdr(read[0].raw, IMAGE).width == 16


def test_topics_at_a_glance_without_reading(tmp_path):
    write_sample_bag(tmp_path / "a", frames=3)
    write_rosbags_bag(tmp_path / "b", camera_and_detections([SECOND]))
    with open_bags([tmp_path / "a", tmp_path / "b"]) as bags:
        topics = bags.topics
    assert {name: (t.msgtype, t.count) for name, t in topics.items()} == {
        "/camera/camera_info": ("sensor_msgs/msg/CameraInfo", 3),
        "/camera/image_raw": (IMAGE, 3),
        "/camera/image_raw/compressed": ("sensor_msgs/msg/CompressedImage", 3),
        "/detections": (DETECTIONS, 3 + 1),
        "/image": (IMAGE, 1),
        "/label_info": ("vision_msgs/msg/LabelInfo", 1),
    }


def test_several_bags_merge_in_time_order(tmp_path):
    write_rosbags_bag(tmp_path / "odd", camera_and_detections([1, 3, 5, 7]))
    with BagWriter(tmp_path / "even") as writer:
        writer.add_topic("/image", IMAGE)
        for stamp in (2, 4, 6, 8):
            writer.write("/image", stamp, image(stamp))
    read = list(read_messages([tmp_path / "even", tmp_path / "odd"], topics=["/image"]))
    assert [m.timestamp for m in read] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [m.bag.name for m in read[:2]] == ["odd", "even"]


def test_topic_and_time_filters(tmp_path):
    written = write_sample_bag(tmp_path / "bag", frames=10, start_ns=0, period_ns=100)
    start, end = 300, 700
    read = list(
        read_messages(
            tmp_path / "bag",
            topics=["/detections", "/camera/camera_info"],
            start_ns=start,
            end_ns=end,
        )
    )
    expected = [
        (t, s)
        for t, s, _ in written
        if t in {"/detections", "/camera/camera_info"} and start <= s < end
    ]
    assert [(m.topic, m.timestamp) for m in read] == expected
    assert len(expected) == 8
    assert [m.topic for m in read_messages(tmp_path / "bag", topics="/label_info")] == [
        "/label_info"
    ]


def test_unknown_topic_names_what_there_is(tmp_path):
    write_rosbags_bag(tmp_path / "bag", camera_and_detections([1]))
    with pytest.raises(
        BagError, match=r"topic /camera/image not in .*bag \(it has /detections, /image\)"
    ):
        list(read_messages(tmp_path / "bag", topics=["/camera/image"]))


def test_types_the_bag_defines_are_decoded(tmp_path):
    custom = Typestore()
    custom.fielddefs.update(TYPESTORE.fielddefs)
    custom.types.update(TYPESTORE.types)
    custom.register(get_types_from_msg("string name\nuint32[] counts", "field_msgs/msg/Tally"))
    tally = custom.types["field_msgs/msg/Tally"](name="row 7", counts=np.array([3, 1], np.uint32))
    for storage in (StoragePlugin.SQLITE3, StoragePlugin.MCAP):
        bag = tmp_path / storage.name
        write_rosbags_bag(bag, [("/tally", "field_msgs/msg/Tally", 1, tally)], storage, custom)
        (read,) = read_messages(bag)
        assert read.msg.name == "row 7"
        np.testing.assert_array_equal(read.msg.counts, [3, 1])


def test_a_differing_layout_is_refused_not_misread(tmp_path):
    """A bag from vision_msgs 3.x (Galactic) has another ObjectHypothesis."""
    writer = Writer(tmp_path / "bag", version=9, storage_plugin=StoragePlugin.MCAP)
    with writer:
        connection = writer.add_connection(
            "/hypotheses",
            "vision_msgs/msg/ObjectHypothesis",
            msgdef="string id\nfloat64 score\n",
            rihs01="RIHS01_" + "0" * 64,
        )
        writer.write(connection, 1, b"\x00\x01\x00\x00")
    with pytest.raises(BagError, match=r"/hypotheses .*has a message layout"):
        list(read_messages(tmp_path / "bag"))


@pytest.mark.parametrize(
    "content",
    [b"", b"not a bag at all", b"\x89MCAP0\r", bytes(range(256)) * 4],
    ids=["empty", "text", "cut-in-magic", "noise"],
)
@pytest.mark.parametrize("suffix", [".mcap", ".db3"])
def test_garbage_is_a_bag_error_naming_the_file(tmp_path, content, suffix):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(content)
    with pytest.raises(BagError, match=str(path)):
        list(read_messages(path))


@pytest.mark.parametrize("make", ["missing", "empty-dir", "text-file"])
def test_what_is_no_bag_at_all(tmp_path, make):
    path = tmp_path / "thing"
    if make == "empty-dir":
        path.mkdir()
    elif make == "text-file":
        path.write_text("hello")
    with pytest.raises(BagError, match=str(path)):
        list(read_messages(path))


# --- bags cut short ------------------------------------------------------------------------


def chunked_bag(path):
    """An mcap bag of three uncompressed chunks (flush() closes each): images and detections."""
    with BagWriter(path) as writer:
        writer.add_topic("/image", IMAGE)
        writer.add_topic("/detections", DETECTIONS)
        for stamp in range(15):
            writer.write("/image", stamp, image(stamp))
            writer.write("/detections", stamp, detections(stamp))
            if stamp % 5 == 4:
                writer.flush()
    return path / f"{path.name}.mcap"


def intact_messages(mcap: bytes, cut: int) -> list[tuple[int, int]]:
    """(channel, log time) of the messages whose records lie before ``cut``, from mcap's index.

    Only for uncompressed chunks, where a message's place in the chunk is its place in the file.
    """
    chunk_starts = [
        c.chunk_start_offset for c in make_reader(io.BytesIO(mcap)).get_summary().chunk_indexes
    ]
    intact, chunk = [], None
    for record in StreamReader(io.BytesIO(mcap), emit_chunks=True).records:
        if isinstance(record, Chunk):
            assert record.compression == ""
            start = chunk_starts.pop(0)
            records_start = start + 9 + 8 * 3 + 4 + 4 + 8
            chunk = (records_start, record.data)
        elif isinstance(record, MessageIndex):
            records_start, data = chunk
            for log_time, offset in record.records:
                (length,) = struct.unpack_from("<Q", data, offset + 1)
                if records_start + offset + 9 + length <= cut:
                    intact.append((record.channel_id, log_time))
    return sorted(intact, key=lambda x: (x[1], x[0]))


def test_truncated_mcap_is_read_up_to_the_cut(tmp_path, caplog):
    mcap = chunked_bag(tmp_path / "bag")
    data = mcap.read_bytes()
    full = list(read_messages(mcap))
    assert len(full) == 30
    channel_of = {"/image": 1, "/detections": 2}
    summary = make_reader(io.BytesIO(data)).get_summary()
    first, second = (c.chunk_start_offset for c in summary.chunk_indexes[:2])
    cuts = {
        "in header": 8 + 5,
        "before first chunk": first,
        "in first chunk head": first + 20,
        "in first chunk": first + summary.chunk_indexes[0].chunk_length // 2,
        "in first message index": first + summary.chunk_indexes[0].chunk_length + 5,
        "in second chunk": second + summary.chunk_indexes[1].chunk_length * 2 // 3,
        "in summary": len(data) - 100,
    }
    for where, cut in cuts.items():
        short = tmp_path / f"cut-{cut}.mcap"
        short.write_bytes(data[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            read = list(read_messages(short))
        expected = intact_messages(data, cut)
        assert [(channel_of[m.topic], m.timestamp) for m in read] == expected, where
        assert [m.raw for m in read] == [m.raw for m in full[: len(read)]], where
        assert len(caplog.records) == 1, where
        assert str(short) in caplog.text
    assert len(intact_messages(data, cuts["in first chunk"])) not in (0, 10)  # a partial chunk


def test_zstd_chunks_cut_short_keep_what_decompresses(tmp_path, caplog):
    """rosbag2's default mcap storage compresses chunks with zstd (rosbags: 1 MiB chunks)."""
    frames = [("/image", IMAGE, i, image(i, height=240, width=320, seed=i)) for i in range(12)]
    write_rosbags_bag(tmp_path / "bag", frames, StoragePlugin.MCAP, zstd=True)
    data = (tmp_path / "bag" / "bag.mcap").read_bytes()
    counts = []
    for fraction in (0.3, 0.6, 0.9):
        short = tmp_path / f"cut{fraction}.mcap"
        short.write_bytes(data[: int(len(data) * fraction)])
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            read = list(read_messages(short))
        assert [m.timestamp for m in read] == list(range(len(read)))
        for message, (_, _, _, msg) in zip(read, frames, strict=False):
            assert_same_fields(message.msg, msg)
        assert "is cut short at byte" in caplog.text
        counts.append(len(read))
    assert 0 < counts[0] < counts[1] < counts[2] < len(frames)


def test_warning_says_what_was_lost(tmp_path, caplog):
    mcap = chunked_bag(tmp_path / "bag")
    data = mcap.read_bytes()
    short = tmp_path / "short.mcap"
    short.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING):
        count = sum(1 for _ in read_messages(short))
    (record,) = caplog.records
    assert f"{short} is cut short at byte" in record.message
    assert f"of {len(data) // 2}: {count} messages read up to log time" in record.message
    assert "about" in record.message


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_folder_without_metadata_yaml(tmp_path, caplog, storage):
    bag = tmp_path / "bag"
    if storage == "mcap":
        written = [(t, s) for t, s, _ in write_sample_bag(bag, frames=4)]
    else:
        messages = camera_and_detections([10, 20, 30])
        write_rosbags_bag(bag, messages)
        written = [(t, s) for t, _, s, _ in messages]
    (bag / "metadata.yaml").unlink()
    with caplog.at_level(logging.WARNING):
        read = list(read_messages(bag))
    assert [(m.topic, m.timestamp) for m in read] == sorted(written, key=lambda x: x[1])
    (record,) = caplog.records
    assert f"{bag}: no metadata.yaml, the recording was not closed" in record.message


@pytest.mark.parametrize(
    ("files", "falls_back"),
    [("3.5", True), ("{path: x}", True), ("yes", False)],  # rosbags reads "yes", fails to close
)
def test_a_damaged_metadata_yaml_falls_back_to_the_storage_files(
    tmp_path, caplog, files, falls_back
):
    bag = tmp_path / "bag"
    written = [(t, s) for t, s, _ in write_sample_bag(bag, frames=3)]
    metadata = bag / "metadata.yaml"
    metadata.write_text(re.sub(r"(?m)^  files:\n(  - .*\n|    .*\n)*", f"  files: {files}\n",
                               metadata.read_text()))  # fmt: skip
    with caplog.at_level(logging.WARNING):
        read = list(read_messages(bag))
    assert [(m.topic, m.timestamp) for m in read] == sorted(written, key=lambda x: x[1])
    warned = any("metadata.yaml or a file is unusable" in r.message for r in caplog.records)
    assert warned == falls_back


def test_unclosed_folder_with_a_cut_mcap(tmp_path, caplog):
    """A robot that lost power: no metadata.yaml, and the mcap ends mid-chunk."""
    mcap = chunked_bag(tmp_path / "bag")
    data = mcap.read_bytes()
    (tmp_path / "bag" / "metadata.yaml").unlink()
    summary = make_reader(io.BytesIO(data)).get_summary()
    second = summary.chunk_indexes[1]
    mcap.write_bytes(data[: second.chunk_start_offset + second.chunk_length // 2])
    with caplog.at_level(logging.WARNING):
        read = list(read_messages(tmp_path / "bag", topics=["/image"]))
    assert 5 < len(read) < 10
    assert [m.timestamp for m in read] == list(range(len(read)))
    (record,) = caplog.records
    assert "no metadata.yaml" in record.message
    assert "cut short" in record.message


def test_two_passes_over_a_cut_bag_at_once(tmp_path):
    mcap = chunked_bag(tmp_path / "bag")
    short = tmp_path / "short.mcap"
    short.write_bytes(mcap.read_bytes()[:-2000])
    with open_bags(short) as bags:
        images, boxes = bags.messages(["/image"]), bags.messages(["/detections"])
        interleaved = [(next(images).timestamp, next(boxes).timestamp) for _ in range(10)]
    assert interleaved == [(i, i) for i in range(10)]
