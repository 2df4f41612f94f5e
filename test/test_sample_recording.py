"""`odet sample`: a real bag plus COCO ground truth keyed by topic and stamp."""

import json

import numpy as np

from odet_ros.bags import read_messages
from odet_ros.cli.main import main
from odet_ros.dataset.naming import parse_frame_stem
from odet_ros.imaging import to_numpy
from odet_ros.sample.recording import COMPRESSED_TOPIC, IMAGE_TOPIC, INFO_TOPIC, write_sample
from odet_ros.sample.scene import SampleConfig, generate_frames

CONFIG = SampleConfig(seed=1, segments=2, frames_per_segment=10, width=128, height=96)


def test_bag_holds_every_frame_on_each_topic(tmp_path):
    recording = write_sample(tmp_path, CONFIG, progress=False)
    expected = {f.stamp_ns: f for f in generate_frames(CONFIG)}
    counts = {IMAGE_TOPIC: 0, COMPRESSED_TOPIC: 0, INFO_TOPIC: 0}
    for message in read_messages(recording.bag):
        counts[message.topic] += 1
        frame = expected[message.timestamp]
        assert message.msg.header.frame_id == "camera_optical_frame"
        if message.topic == IMAGE_TOPIC:
            np.testing.assert_array_equal(to_numpy(message.msg, "bgr8"), frame.image)
        elif message.topic == COMPRESSED_TOPIC:
            decoded = to_numpy(message.msg, "bgr8").astype(int)
            assert np.abs(decoded - frame.image).mean() < 8  # JPEG on a noisy frame
        else:
            assert (message.msg.width, message.msg.height) == (128, 96)
    assert counts == dict.fromkeys(counts, 20)
    assert recording.frames == 20


def test_ground_truth_names_match_topics_and_stamps(tmp_path):
    recording = write_sample(tmp_path, CONFIG, progress=False)
    coco = json.loads(recording.labels.read_text())
    frames = {f.stamp_ns: f for f in generate_frames(CONFIG)}
    assert [c["name"] for c in coco["categories"]] == ["plastic_bottle", "paper_cup", "drink_can"]
    images = {image["id"]: image for image in coco["images"]}
    assert len(images) == 2 * len(frames)
    topics = set()
    for annotation in coco["annotations"]:
        image = images[annotation["image_id"]]
        bag, topic, stamp = parse_frame_stem(image["file_name"].rsplit(".", 1)[0])
        topics.add(topic)
        assert bag == recording.bag.name
        x, y, w, h = annotation["bbox"]
        assert any(np.allclose([x, y, x + w, y + h], box, atol=1e-3) for box in frames[stamp].boxes)
    assert topics == {"camera_image_raw", "camera_image_raw_compressed"}


def test_rerun_replaces_the_sample_and_leaves_no_partial_output(tmp_path):
    write_sample(tmp_path, CONFIG, progress=False)
    write_sample(tmp_path, CONFIG, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels_coco.json", "sample_bag"]


def test_cli(tmp_path, capsys):
    code = main(["sample", str(tmp_path), "--segments", "1", "--frames", "5", "--width", "64"])
    assert code == 0
    assert "5 frames" in capsys.readouterr().out
    assert (tmp_path / "sample_bag" / "metadata.yaml").exists()
