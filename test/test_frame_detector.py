"""The detector node's per-frame path without ROS: image message in, vision_msgs out."""

from pathlib import Path

import numpy as np
import pytest

from odet_ros.bags import make_typestore
from odet_ros.detection.detector import load_detector
from odet_ros.imaging import ImageConversionError, numpy_to_compressed, numpy_to_image
from odet_ros.interfaces import make_header, stamp_to_ns
from odet_ros.messages import VisionMsgClasses
from odet_ros.runtime.frame_detector import FrameDetector
from odet_ros.tracking import make_tracker

pytest.importorskip("onnxruntime")

MODEL = Path(__file__).parent / "data" / "brightness_model.onnx"


@pytest.fixture(scope="module")
def typestore():
    return make_typestore("humble")


@pytest.fixture
def frames(typestore):
    detector = load_detector(MODEL, conf=0.5)
    image_type = typestore.types["sensor_msgs/msg/Image"]
    return FrameDetector(detector, VisionMsgClasses.from_typestore(typestore), image_type)


def _image(typestore, value, encoding="bgr8", shape=(120, 160, 3)):
    header = make_header(typestore, 5_000_000_123, "cam")
    array = np.full(shape, value, np.uint8)
    return numpy_to_image(array, encoding, header, typestore.types["sensor_msgs/msg/Image"])


def test_raw_and_compressed_frames_give_the_same_detections(frames, typestore):
    raw = _image(typestore, 230)
    compressed = numpy_to_compressed(
        np.full((120, 160, 3), 230, np.uint8),
        raw.header,
        typestore.types["sensor_msgs/msg/CompressedImage"],
        fmt="png",
    )
    for msg in (raw, compressed):
        result = frames.process(msg)
        assert stamp_to_ns(result.message.header.stamp) == 5_000_000_123
        assert len(result.message.detections) == 1
        np.testing.assert_allclose(result.detections.xyxy, [[40, 20, 120, 100]], atol=0.5)
        assert result.annotated is None


def test_mono_and_rgb_sources_and_annotation(frames, typestore):
    mono = _image(typestore, 240, "mono8", shape=(120, 160))
    result = frames.process(mono, annotate=True)
    assert len(result.detections) == 1
    assert (result.annotated.height, result.annotated.width) == (120, 160)
    assert result.annotated.encoding == "bgr8"  # colour boxes on a grey camera
    assert result.annotated.header is mono.header
    drawn = result.annotated.data.reshape(120, 160, 3)
    assert not np.all(drawn == 240)  # a box was drawn


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "bgra8", "rgba8"])
def test_colour_orders_give_the_same_boxes_and_keep_their_encoding(frames, typestore, encoding):
    channels = 4 if encoding.endswith("a8") else 3
    result = frames.process(_image(typestore, 230, encoding, (120, 160, channels)), annotate=True)
    np.testing.assert_allclose(result.detections.xyxy, [[40, 20, 120, 100]], atol=0.5)
    assert result.annotated.encoding == (encoding if channels == 3 else "bgr8")


def test_dark_frame_publishes_an_empty_array(frames, typestore):
    result = frames.process(_image(typestore, 10))
    assert result.message.detections == []


def test_tracker_sets_ids(frames, typestore):
    pytest.importorskip("supervision")
    frames.tracker = make_tracker("bytetrack")
    results = [frames.process(_image(typestore, 230)) for _ in range(3)]
    assert results[-1].message.detections[0].id == results[0].message.detections[0].id != ""


def test_undecodable_frame_raises_a_conversion_error(frames, typestore):
    bad = _image(typestore, 230)
    bad.data = bad.data[:50]
    with pytest.raises(ImageConversionError):
        frames.process(bad)
