"""`odet sample`: a real bag (colour, CameraInfo and aligned depth) plus COCO ground truth keyed
by topic and stamp, and each object's 3D position."""

import json

import numpy as np

from odet_ros.bags import read_messages
from odet_ros.cli.main import main
from odet_ros.dataset.naming import parse_frame_stem
from odet_ros.depth import Intrinsics, depth_meters, locate_objects
from odet_ros.imaging import to_numpy
from odet_ros.labels.rle import polygon_mask
from odet_ros.sample.recording import (
    COMPRESSED_TOPIC,
    DEPTH_INFO_TOPIC,
    DEPTH_TOPIC,
    IMAGE_TOPIC,
    INFO_TOPIC,
    write_sample,
)
from odet_ros.sample.scene import SampleConfig, generate_frames

CONFIG = SampleConfig(seed=1, segments=2, frames_per_segment=10, width=128, height=96)


def test_bag_holds_every_frame_on_each_topic(tmp_path):
    recording = write_sample(tmp_path, CONFIG, progress=False)
    expected = {f.stamp_ns: f for f in generate_frames(CONFIG)}
    topics = (IMAGE_TOPIC, COMPRESSED_TOPIC, INFO_TOPIC, DEPTH_TOPIC, DEPTH_INFO_TOPIC)
    counts = dict.fromkeys(topics, 0)
    for message in read_messages(recording.bag):
        counts[message.topic] += 1
        frame = expected[message.timestamp]
        assert message.msg.header.frame_id == "camera_optical_frame"  # depth too: aligned
        if message.topic == IMAGE_TOPIC:
            np.testing.assert_array_equal(to_numpy(message.msg, "bgr8"), frame.image)
        elif message.topic == COMPRESSED_TOPIC:
            decoded = to_numpy(message.msg, "bgr8").astype(int)
            assert np.abs(decoded - frame.image).mean() < 8  # JPEG on a noisy frame
        elif message.topic == DEPTH_TOPIC:
            assert (message.msg.encoding, message.msg.width, message.msg.height) == (
                "16UC1",
                128,
                96,
            )
        else:  # the zoom is a focal length, which each frame's CameraInfo carries
            assert (message.msg.width, message.msg.height) == (128, 96)
            assert message.msg.k[0] == frame.camera.fx
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
        frame = frames[stamp]
        (index,) = [
            i
            for i, box in enumerate(frame.boxes)
            if np.allclose([x, y, x + w, y + h], box, atol=1e-3)
        ]
        # the outline: the pixels the object shows, as COCO's rasteriser fills them back
        shown = frame.masks == index + 1
        drawn = np.zeros_like(shown)
        for part in annotation["segmentation"]:
            drawn |= polygon_mask(np.array(part).reshape(-1, 2), *shown.shape)
        assert ((drawn == shown).all() and annotation["area"] == shown.sum()) or not shown.any()
    assert topics == {"camera_image_raw", "camera_image_raw_compressed"}


def test_rerun_replaces_the_sample_and_leaves_no_partial_output(tmp_path):
    write_sample(tmp_path, CONFIG, progress=False)
    write_sample(tmp_path, CONFIG, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ground_truth_3d.json",
        "labels_coco.json",
        "sample_bag",
    ]


def test_the_depth_stream_places_each_object_where_the_ground_truth_says(tmp_path):
    """The depth, the CameraInfo and the 3D ground truth describe one scene: located from the
    ground-truth boxes, the objects land where the ground truth puts them (the median; boxes cut
    by the frame edge or the pole cannot show their object's centre)."""
    recording = write_sample(tmp_path, CONFIG, progress=False)
    truth = {
        f["stamp_ns"]: f["objects"]
        for f in json.loads(recording.ground_truth_3d.read_text())["frames"]
    }
    infos = {m.timestamp: m.msg for m in read_messages(recording.bag, topics=[INFO_TOPIC])}
    errors = []
    for message in read_messages(recording.bag, topics=[DEPTH_TOPIC]):
        objects = truth[message.timestamp]
        if not objects:
            continue
        boxes = np.array([o["box"] for o in objects])
        camera = Intrinsics.from_camera_info(infos[message.timestamp])
        located = locate_objects(boxes, depth_meters(message.msg), camera)
        expected = np.array([o["position_m"] for o in objects])
        errors += (np.linalg.norm(located.centers - expected, axis=1) / expected[:, 2]).tolist()
    assert len(errors) > 20 and np.nanmedian(errors) < 0.03


def test_cli(tmp_path, capsys):
    code = main(["sample", str(tmp_path), "--segments", "1", "--frames", "5", "--width", "64"])
    assert code == 0
    assert "5 frames" in capsys.readouterr().out
    assert (tmp_path / "sample_bag" / "metadata.yaml").exists()
