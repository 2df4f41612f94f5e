"""`odet bag info`: the aligned table, --json, damaged bags, and errors as one line with exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from support.bags import COMPRESSED, SECOND, T, header, write_sample_bag

from odet_ros.bags import BagWriter, bag_info
from odet_ros.cli.main import main

ODET = Path(sys.executable).with_name("odet")


def test_info_table(tmp_path, capsys):
    write_sample_bag(tmp_path / "bag", frames=10, start_ns=1_700_000_000 * SECOND)
    assert main(["bag", "info", str(tmp_path / "bag")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'bag'}: mcap, ")
    assert (
        "41 messages, 0.90 s, 2023-11-14T22:13:20.000+00:00 to 2023-11-14T22:13:20.900+00:00"
        in lines[0]
    )
    table = [line.split() for line in lines[1:]]
    assert table[0] == ["topic", "type", "count", "rate", "image"]
    rows = {row[0]: row[1:] for row in table[1:]}
    assert rows["/camera/image_raw"] == [
        "sensor_msgs/msg/Image",
        "10",
        "10.00",
        "Hz",
        "bgr8",
        "16x12",
    ]
    assert rows["/camera/image_raw/compressed"][-2:] == ["bgr8", "40x24"]
    assert rows["/detections"] == ["vision_msgs/msg/Detection2DArray", "10", "10.00", "Hz"]
    assert rows["/label_info"] == ["vision_msgs/msg/LabelInfo", "1", "-"]
    columns = {line.index("vision_msgs/msg/LabelInfo") for line in lines if "LabelInfo" in line}
    assert columns == {lines[1].index("type")}  # aligned


def test_info_json_for_several_bags(tmp_path, capsys):
    write_sample_bag(tmp_path / "a", frames=4, start_ns=0, period_ns=SECOND // 5)
    write_sample_bag(tmp_path / "b", frames=2)
    assert main(["bag", "info", "--json", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    first, second = json.loads(capsys.readouterr().out)
    assert first["path"] == str(tmp_path / "a")
    assert (first["storage"], first["message_count"], first["start_ns"]) == ("mcap", 17, 0)
    assert first["duration_s"] == (first["end_ns"] - first["start_ns"]) / 1e9
    assert first["size_bytes"] == sum(f.stat().st_size for f in (tmp_path / "a").iterdir())
    topics = {t["name"]: t for t in first["topics"]}
    assert topics["/camera/image_raw"] == {
        "name": "/camera/image_raw",
        "msgtype": "sensor_msgs/msg/Image",
        "count": 4,
        "rate_hz": 5.0,
        "encoding": "bgr8",
        "width": 16,
        "height": 12,
    }
    assert topics["/label_info"]["rate_hz"] is None
    assert first["warnings"] == []
    assert second["message_count"] == 9


def test_info_reports_a_cut_bag(tmp_path, capsys):
    write_sample_bag(tmp_path / "bag", frames=10)
    mcap = tmp_path / "bag" / "bag.mcap"
    mcap.write_bytes(mcap.read_bytes()[: mcap.stat().st_size // 2])
    (tmp_path / "bag" / "metadata.yaml").unlink()
    assert main(["bag", "info", "--json", str(tmp_path / "bag")]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    no_metadata, cut = info["warnings"]
    assert no_metadata == f"{tmp_path / 'bag'}: no metadata.yaml, the recording was not closed"
    assert cut.startswith(f"{mcap} is cut short at byte ")
    assert 0 < info["message_count"] < 41
    assert main(["bag", "info", str(tmp_path / "bag")]) == 0
    assert "  warning: " in capsys.readouterr().out


def test_compressed_depth_size(tmp_path):
    depth = np.arange(30 * 20, dtype=np.uint16).reshape(20, 30)
    ok, png = cv2.imencode(".png", depth)
    assert ok
    msg = T[COMPRESSED](
        header=header(1),
        format="16UC1; compressedDepth png",
        data=np.concatenate([np.zeros(12, np.uint8), png.ravel()]),
    )
    with BagWriter(tmp_path / "bag") as writer:
        writer.add_topic("/depth/compressedDepth", COMPRESSED)
        writer.write("/depth/compressedDepth", 1, msg)
    (info,) = bag_info(tmp_path / "bag")
    (topic,) = info.topics
    assert (topic.encoding, topic.width, topic.height) == ("16UC1; compressedDepth png", 30, 20)


def test_garbage_is_one_line_and_exit_1(tmp_path, capsys):
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"definitely not a bag")
    assert main(["bag", "info", str(junk)]) == 1
    err = capsys.readouterr().err
    assert (
        err.strip().splitlines()[-1]
        == f"odet bag: error: {junk}: not an MCAP file (bad magic bytes)"
    )


def test_odet_script(tmp_path):
    write_sample_bag(tmp_path / "bag", frames=2)
    done = subprocess.run(
        [str(ODET), "bag", "info", "--json", str(tmp_path / "bag")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["message_count"] == 9
    missing = tmp_path / "nope"
    done = subprocess.run(
        [str(ODET), "bag", "info", str(missing)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr == f"odet bag: error: {missing}: no such bag file or folder\n"


def test_rate_is_the_publishing_rate_across_pauses(tmp_path):
    """Two 10 Hz bursts 60 s apart: 10 Hz, not the 0.3 Hz a mean over the bag would give."""
    image = "/camera/image_raw"
    sample = next(msg for topic, _, msg in write_sample_bag(tmp_path / "s", 1) if topic == image)
    with BagWriter(tmp_path / "paused") as writer:
        writer.add_topic(image, "sensor_msgs/msg/Image")
        for start in (0, 60 * SECOND):
            for frame in range(10):
                writer.write(image, start + frame * SECOND // 10, sample)
    (info,) = bag_info(tmp_path / "paused")
    assert info.topics[0].rate_hz == 10.0
