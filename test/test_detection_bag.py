"""`odet detect` over a bag: the node's per-frame path on recorded frames, written as a bag."""

import dataclasses
import json

import cv2
import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from odet_ros.bags import BagWriter, make_typestore, read_messages
from odet_ros.cli.main import main
from odet_ros.imaging import numpy_to_image
from odet_ros.interfaces import make_header
from odet_ros.sample.recording import COMPRESSED_TOPIC, IMAGE_TOPIC, write_sample
from odet_ros.sample.scene import SampleConfig

pytest.importorskip("onnxruntime")

MODEL = "test/data/brightness_model.onnx"
CONFIG = SampleConfig(seed=2, segments=2, frames_per_segment=6, width=128, height=96)


@pytest.fixture(scope="module")
def sample_bag(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("sample"), CONFIG, progress=False).bag


def _decoded(bag):
    mcap_file = next(bag.glob("*.mcap"))
    with mcap_file.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        return [(channel.topic, msg) for _, channel, _, msg in reader.iter_decoded_messages()]


def _image_stamps(bag, topic):
    stamps = []
    for message in read_messages(bag, topics=[topic]):
        stamp = message.msg.header.stamp
        stamps.append((stamp.sec, stamp.nanosec))
    return stamps


@pytest.mark.parametrize("topic", [IMAGE_TOPIC, COMPRESSED_TOPIC])
def test_output_bag_has_one_array_per_frame_with_the_image_stamps(sample_bag, tmp_path, topic):
    out = tmp_path / "out"
    code = main(["detect", MODEL, str(sample_bag), "--topic", topic, "--out", str(out)])
    assert code == 0
    decoded = _decoded(out / "detections_bag")
    arrays = [msg for name, msg in decoded if name == "/detections"]
    labels = [msg for name, msg in decoded if name == "/label_info"]
    expected = _image_stamps(sample_bag, topic)
    assert [(a.header.stamp.sec, a.header.stamp.nanosec) for a in arrays] == expected
    assert all(a.header.frame_id == "camera_optical_frame" for a in arrays)
    assert len(labels) == 1
    assert [(c.class_id, c.class_name) for c in labels[0].class_map] == [
        (0, "bright"),
        (1, "never"),
    ]

    lines = [json.loads(line) for line in (out / "detections.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == [s * 1_000_000_000 + n for s, n in expected]
    counts = [len(a.detections) for a in arrays]
    assert counts == [len(line["detections"]) for line in lines]
    for array, line in zip(arrays, lines, strict=True):
        for det, record in zip(array.detections, line["detections"], strict=True):
            x1, y1, x2, y2 = record["xyxy"]
            assert det.bbox.center.position.x == pytest.approx((x1 + x2) / 2, abs=0.01)
            assert det.results[0].hypothesis.class_id == str(record["class_id"])


def test_annotated_topic_images_and_video(sample_bag, tmp_path):
    assert (
        main(["detect", MODEL, str(sample_bag), "--out", str(tmp_path / "t"), "--annotated"]) == 0
    )
    annotated = [
        m for n, m in _decoded(tmp_path / "t" / "detections_bag") if n == "/image_annotated"
    ]
    assert len(annotated) == CONFIG.segments * CONFIG.frames_per_segment
    assert (annotated[0].width, annotated[0].height) == (CONFIG.width, CONFIG.height)

    assert (
        main(
            [
                "detect",
                MODEL,
                str(sample_bag),
                "--out",
                str(tmp_path / "i"),
                "--annotated",
                "images",
            ]
        )
        == 0
    )
    images = sorted((tmp_path / "i" / "annotated").glob("*.jpg"))
    assert len(images) == len(annotated)
    assert cv2.imread(str(images[0])).shape == (CONFIG.height, CONFIG.width, 3)

    assert (
        main(
            ["detect", MODEL, str(sample_bag), "--out", str(tmp_path / "v"), "--annotated", "video"]
        )
        == 0
    )
    video = cv2.VideoCapture(str(tmp_path / "v" / "annotated.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == len(annotated)
    assert video.get(cv2.CAP_PROP_FPS) == pytest.approx(CONFIG.fps, rel=0.05)


def test_unknown_topic_is_a_clear_error(sample_bag, tmp_path, capsys):
    code = main(["detect", MODEL, str(sample_bag), "--topic", "/nope", "--out", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "/nope" in err and IMAGE_TOPIC in err
    assert not (tmp_path / "detections_bag").exists()


def test_undecodable_frames_are_skipped(tmp_path, capsys):
    typestore = make_typestore()
    image_type = typestore.types["sensor_msgs/msg/Image"]
    bag = tmp_path / "bag"
    with BagWriter(bag) as writer:
        writer.add_topic("/cam/image", "sensor_msgs/msg/Image")
        for i in range(4):
            header = make_header(typestore, (i + 1) * 10**9, "cam")
            msg = numpy_to_image(np.full((48, 64, 3), 230, np.uint8), "bgr8", header, image_type)
            if i == 2:
                msg.data = msg.data[:10]
            writer.write("/cam/image", (i + 1) * 10**9, msg)
    assert main(["detect", MODEL, str(bag), "--out", str(tmp_path / "out")]) == 0
    assert "3 frames of /cam/image" in capsys.readouterr().out
    arrays = [m for n, m in _decoded(tmp_path / "out" / "detections_bag") if n == "/detections"]
    assert [a.header.stamp.sec for a in arrays] == [1, 2, 4]


DEPTH = "/camera/aligned_depth_to_color/image_raw"


def test_foxglove_annotations_match_the_detections_and_decode_with_mcap(sample_bag, tmp_path):
    """Foxglove's Image panel draws ImageAnnotations whose timestamp is the image's stamp: one
    closed box (LINE_LOOP) and one label per detection, decoded here by mcap-ros2-support from
    the schema the bag carries (no foxglove_msgs installed)."""
    out = tmp_path / "out"
    assert main(["detect", MODEL, str(sample_bag), "--topic", IMAGE_TOPIC, "--out", str(out),
                 "--conf", "0.0"]) == 0  # fmt: skip
    decoded = _decoded(out / "detections_bag")
    arrays = [msg for name, msg in decoded if name == "/detections"]
    annotations = [msg for name, msg in decoded if name == "/detection_annotations"]
    assert len(annotations) == len(arrays) == len(_image_stamps(sample_bag, IMAGE_TOPIC))
    assert sum(len(a.detections) for a in arrays) > 0
    for array, drawn in zip(arrays, annotations, strict=True):
        assert len(drawn.points) == len(drawn.texts) == len(array.detections)
        for detection, box, text in zip(array.detections, drawn.points, drawn.texts, strict=True):
            stamps = {(t.sec, t.nanosec) for t in (box.timestamp, text.timestamp)}
            assert stamps == {(array.header.stamp.sec, array.header.stamp.nanosec)}
            assert box.type == 2  # LINE_LOOP
            bbox = detection.bbox
            xs, ys = [p.x for p in box.points], [p.y for p in box.points]
            assert (min(xs) + max(xs)) / 2 == pytest.approx(bbox.center.position.x, abs=1e-6)
            assert max(ys) - min(ys) == pytest.approx(bbox.size_y, abs=1e-6)
            score = detection.results[0].hypothesis.score
            assert text.text == f"bright {score:.2f}"
            assert text.position.y >= 0 and box.outline_color.a == 1.0


@pytest.mark.parametrize("topic", [IMAGE_TOPIC, COMPRESSED_TOPIC])
def test_depth_topic_adds_3d_detections_decoded_by_mcap(sample_bag, tmp_path, topic):
    """Each frame paired with the depth frame of its stamp, located with the CameraInfo beside
    the image topic; the 3D arrays and markers decode with mcap-ros2-support."""
    out = tmp_path / "out"
    code = main(["detect", MODEL, str(sample_bag), "--topic", topic, "--out", str(out),
                 "--conf", "0.0", "--depth-topic", DEPTH])  # fmt: skip
    assert code == 0
    decoded = _decoded(out / "detections_bag")
    arrays = [msg for name, msg in decoded if name == "/detections_3d"]
    markers = [msg for name, msg in decoded if name == "/detection_markers"]
    expected = _image_stamps(sample_bag, topic)
    assert [(a.header.stamp.sec, a.header.stamp.nanosec) for a in arrays] == expected
    assert len(markers) == len(expected)
    lines = [json.loads(line) for line in (out / "detections.jsonl").read_text().splitlines()]
    for array, line in zip(arrays, lines, strict=True):
        located = [d for d in line["detections"] if "position_m" in d]
        assert len(array.detections) == len(located)
        for det, record in zip(array.detections, located, strict=True):
            position = det.bbox.center.position
            assert [position.x, position.y, position.z] == pytest.approx(
                record["position_m"], abs=1e-3
            )
            assert 0 < record["depth_confidence"] <= 1


def test_a_missing_depth_topic_is_named(sample_bag, tmp_path, capsys):
    arguments = ["--out", str(tmp_path / "o"), "--depth-topic", "/no/depth"]
    assert main(["detect", MODEL, str(sample_bag), "--topic", IMAGE_TOPIC, *arguments]) != 0
    assert "/no/depth" in capsys.readouterr().err


def test_frames_without_a_depth_frame_are_counted(sample_bag, tmp_path, capsys):
    """Depth stamps moved out of the tolerance: every frame keeps its 2D detections only."""
    shifted = tmp_path / "shifted"
    typestore = make_typestore("humble")
    with BagWriter(shifted) as writer:
        added = set()
        for message in read_messages(sample_bag):
            if message.topic not in added:
                writer.add_topic(message.topic, message.msgtype)
                added.add(message.topic)
            msg = message.msg
            if message.topic == DEPTH:  # a second late: far outside the 0.05 s tolerance
                stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec + 10**9
                header = make_header(typestore, stamp, msg.header.frame_id)
                msg = dataclasses.replace(msg, header=header)
            writer.write(message.topic, message.timestamp, msg)
    out = tmp_path / "out"
    assert main(["detect", MODEL, str(shifted), "--topic", IMAGE_TOPIC, "--out", str(out),
                 "--depth-topic", DEPTH]) == 0  # fmt: skip
    frames = len(_image_stamps(sample_bag, IMAGE_TOPIC))
    assert f"0 located in 3D ({frames} frames without depth)" in capsys.readouterr().out
    names = [name for name, _ in _decoded(out / "detections_bag")]
    assert names.count("/detections") == frames and "/detections_3d" not in names
