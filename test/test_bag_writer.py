"""BagWriter: bags that an independent decoder (mcap-ros2-support) reads field for field, metadata
that rosbag2 accepts, refusals that name the problem, and flush() surviving a SIGKILL."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from support.bags import (
    DETECTIONS,
    IMAGE,
    LABEL_INFO,
    SAMPLES,
    SECOND,
    TYPESTORE,
    assert_same_fields,
    image,
    label_info,
    write_sample_bag,
)

from odet_ros.bags import BagError, BagWriter, read_messages

# rmw enum values as rosbag2 stores them
RELIABLE = 1
TRANSIENT_LOCAL, VOLATILE = 1, 2


def test_mcap_ros2_decodes_every_field_we_wrote(tmp_path):
    written = write_sample_bag(tmp_path / "bag", frames=3)
    with (tmp_path / "bag" / "bag.mcap").open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        decoded = list(reader.iter_decoded_messages(log_time_order=True))
    assert [(c.topic, m.log_time) for _, c, m, _ in decoded] == [(t, s) for t, s, _ in written]
    for (_, _, ours), (_, _, _, theirs) in zip(written, decoded, strict=True):
        assert_same_fields(ours, theirs)
    assert {s.name for s, _, _, _ in decoded} == {msgtype for msgtype, _ in SAMPLES.values()}


def test_metadata_is_what_humble_and_jazzy_rosbag2_read(tmp_path):
    written = write_sample_bag(tmp_path / "bag", frames=4)
    info = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())
    info = info["rosbag2_bagfile_information"]
    assert info["version"] == 8
    assert info["storage_identifier"] == "mcap"
    assert info["relative_file_paths"] == ["bag.mcap"]
    assert info["message_count"] == len(written)
    assert info["starting_time"]["nanoseconds_since_epoch"] == written[0][1]
    assert info["duration"]["nanoseconds"] == written[-1][1] - written[0][1]
    topics = {t["topic_metadata"]["name"]: t for t in info["topics_with_message_count"]}
    assert {name: t["message_count"] for name, t in topics.items()} == {
        "/camera/image_raw": 4,
        "/camera/image_raw/compressed": 4,
        "/camera/camera_info": 4,
        "/detections": 4,
        "/label_info": 1,
    }
    meta = topics["/detections"]["topic_metadata"]
    assert meta["type"] == DETECTIONS
    assert meta["serialization_format"] == "cdr"
    assert meta["type_description_hash"] == TYPESTORE.hash_rihs01(DETECTIONS)
    # Humble's rosbag2 parses offered_qos_profiles as a YAML string (metadata version >= 4).
    assert all(
        isinstance(t["topic_metadata"]["offered_qos_profiles"], str) for t in topics.values()
    )


@pytest.mark.parametrize(
    ("topic", "reliability", "durability"),
    [
        ("/camera/image_raw", RELIABLE, VOLATILE),  # what drivers offer: rviz hears it too
        ("/camera/image_raw/compressed", RELIABLE, VOLATILE),
        ("/detections", RELIABLE, VOLATILE),
        ("/label_info", RELIABLE, TRANSIENT_LOCAL),
    ],
)
def test_qos_recorded_per_topic_in_metadata_and_mcap(tmp_path, topic, reliability, durability):
    write_sample_bag(tmp_path / "bag", frames=1)
    info = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())
    by_topic = {
        t["topic_metadata"]["name"]: t["topic_metadata"]["offered_qos_profiles"]
        for t in info["rosbag2_bagfile_information"]["topics_with_message_count"]
    }
    with (tmp_path / "bag" / "bag.mcap").open("rb") as stream:
        channels = make_reader(stream).get_summary().channels.values()
    in_mcap = {c.topic: c.metadata["offered_qos_profiles"] for c in channels}
    for profiles in (by_topic[topic], in_mcap[topic]):
        (profile,) = yaml.safe_load(profiles)
        assert (profile["reliability"], profile["durability"]) == (reliability, durability)


def test_explicit_qos_and_serialized_bytes(tmp_path):
    msg = image(SECOND)
    with BagWriter(tmp_path / "bag", distro="jazzy") as writer:
        writer.add_topic("/image", IMAGE, qos="reliable")
        writer.write("/image", 42, TYPESTORE.serialize_cdr(msg, IMAGE))
    (read,) = read_messages(tmp_path / "bag")
    assert (read.topic, read.timestamp) == ("/image", 42)
    np.testing.assert_array_equal(read.msg.data, msg.data)
    info = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())
    topic = info["rosbag2_bagfile_information"]["topics_with_message_count"][0]
    assert (
        yaml.safe_load(topic["topic_metadata"]["offered_qos_profiles"])[0]["reliability"]
        == RELIABLE
    )


def test_refuses_a_folder_that_holds_something(tmp_path):
    (tmp_path / "bag").mkdir()
    (tmp_path / "bag" / "notes.txt").write_text("field day 3")
    with pytest.raises(BagError, match="bag already exists"), BagWriter(tmp_path / "bag"):
        pass
    assert (tmp_path / "bag" / "notes.txt").read_text() == "field day 3"
    (tmp_path / "file").write_text("x")
    with pytest.raises(BagError, match="file already exists"), BagWriter(tmp_path / "file"):
        pass


def test_takes_an_existing_empty_folder(tmp_path):
    (tmp_path / "bag").mkdir()
    with BagWriter(tmp_path / "bag") as writer:
        writer.add_topic("/label_info", LABEL_INFO)
        writer.write("/label_info", 1, label_info(1))
    assert [m.topic for m in read_messages(tmp_path / "bag")] == ["/label_info"]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda w: w.write("/nope", 1, image(1)), "topic /nope was not added"),
        (lambda w: w.write("/image", 1, label_info(1)), "takes sensor_msgs/msg/Image, not vision"),
        (lambda w: w.write("/image", -1, image(1)), "negative timestamp -1 on /image"),
        (lambda w: w.add_topic("/image", IMAGE), "topic /image was already added"),
        (lambda w: w.add_topic("/x", "my_msgs/msg/Nope"), "unknown message type my_msgs/msg/Nope"),
        (lambda w: w.add_topic("/x", IMAGE, qos="fast"), "unknown QoS profile 'fast'"),
    ],
)
def test_misuse_is_a_clear_error(tmp_path, action, message):
    with BagWriter(tmp_path / "bag") as writer:
        writer.add_topic("/image", IMAGE)
        with pytest.raises(BagError, match=message):
            action(writer)


def test_an_exception_keeps_messages_but_no_metadata(tmp_path, caplog):
    with pytest.raises(RuntimeError), BagWriter(tmp_path / "bag") as writer:
        writer.add_topic("/image", IMAGE)
        for i in range(3):
            writer.write("/image", i, image(i))
        raise RuntimeError("camera unplugged")
    assert not (tmp_path / "bag" / "metadata.yaml").exists()
    with caplog.at_level(logging.WARNING):
        assert [m.timestamp for m in read_messages(tmp_path / "bag")] == [0, 1, 2]
    assert "no metadata.yaml" in caplog.text


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from support.bags import IMAGE, DETECTIONS, image, detections
    from odet_ros.bags import BagWriter

    writer = BagWriter(sys.argv[1])
    writer.open()
    writer.add_topic("/image", IMAGE)
    writer.add_topic("/detections", DETECTIONS)
    for i in range(20):
        writer.write("/image", 1000 + i, image(i))
        writer.write("/detections", 1000 + i, detections(i))
    writer.flush()
    for i in range(20, 25):
        writer.write("/detections", 1000 + i, detections(i))
    print("ready", flush=True)
    time.sleep(60)
    """
)


def test_flush_survives_sigkill(tmp_path, caplog):
    bag = tmp_path / "bag"
    path = os.pathsep.join([str(Path(__file__).parent), *sys.path])
    env = {**os.environ, "PYTHONPATH": path}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(bag)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout.readline().strip() == "ready"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    with caplog.at_level(logging.WARNING):
        read = list(read_messages(bag))
    assert [(m.topic, m.timestamp) for m in read] == [
        (topic, 1000 + i) for i in range(20) for topic in ("/image", "/detections")
    ]
    assert read[-1].msg.detections[1].id == "8"
    assert "not closed" in caplog.text
