"""What a segmentation model's masks become on the way out, without ROS: the ``instance_masks``
image (mono16, the frame's header and size, pixel = detection index + 1), outlines on the
annotated image and in Foxglove's annotations, masks computed only for frames that need them
(the inference thread asks its sink), and `odet detect` writing the mask images into its bag."""

from __future__ import annotations

import logging
import time

import cv2
import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from odet_ros.bags import BagWriter, make_typestore
from odet_ros.cli.main import main
from odet_ros.detection import Detections, draw_detections, load_detector
from odet_ros.detection.drawing import class_color
from odet_ros.detection.instance_masks import InstanceMasks
from odet_ros.imaging import numpy_to_image, to_numpy
from odet_ros.interfaces import make_header
from odet_ros.messages import VisionMsgClasses
from odet_ros.messages.foxglove import LINE_LOOP, FoxgloveMsgClasses, image_annotations_msg
from odet_ros.messages.masks import instance_masks_msg
from odet_ros.runtime.frame_detector import FrameDetector
from odet_ros.runtime.inference import InferenceWorker

TYPESTORE = make_typestore("humble")
IMAGE = TYPESTORE.types["sensor_msgs/msg/Image"]
HEADER = make_header(TYPESTORE, 1_700_000_000_123_456_789, "camera_optical_frame")


def two_masks() -> Detections:
    """A triangle and a square overlapping it, on a 120x160 frame."""
    triangle = np.zeros((40, 40), bool)
    for row in range(40):
        triangle[row, : row + 1] = True
    square = np.ones((20, 20), bool)
    masks = InstanceMasks((120, 160), np.array([[30, 20], [55, 45]]), (triangle, square))
    boxes = [[30, 20, 70, 60], [55, 45, 75, 65]]
    return Detections.from_arrays(boxes, [0.9, 0.8], [0, 1], masks=masks)


def test_the_mask_image_indexes_the_detections():
    detections = two_masks()
    msg = instance_masks_msg(detections, (120, 160), HEADER, IMAGE)
    assert (msg.encoding, msg.height, msg.width, msg.step) == ("mono16", 120, 160, 320)
    assert msg.header.stamp == HEADER.stamp and msg.header.frame_id == HEADER.frame_id
    pixels = to_numpy(msg)
    assert pixels.dtype == np.uint16 and set(np.unique(pixels).tolist()) == {0, 1, 2}
    np.testing.assert_array_equal(pixels == 1, detections.masks.full(0))  # the first wins
    second = detections.masks.full(1) & ~detections.masks.full(0)
    np.testing.assert_array_equal(pixels == 2, second)
    boxes_only = Detections.from_arrays([[1, 1, 5, 5]], [0.5], [0])
    assert not to_numpy(instance_masks_msg(boxes_only, (120, 160), HEADER, IMAGE)).any()
    with pytest.raises(ValueError, match="masks of a"):
        instance_masks_msg(detections, (240, 320), HEADER, IMAGE)


def test_outlines_are_drawn_and_annotated_for_foxglove():
    detections = two_masks()
    canvas = np.full((120, 160, 3), 90, np.uint8)
    drawn = draw_detections(canvas, detections, ["cup", "can"])
    colour = np.array(class_color(0))
    # the triangle's hypotenuse, inside its box, is outlined; the box has no pixel there
    diagonal = [drawn[20 + k, 30 + k] for k in range(5, 25, 5)]  # short of the square
    assert all((np.abs(p.astype(int) - colour) < 40).all() for p in diagonal)
    foxglove = FoxgloveMsgClasses.from_typestore(TYPESTORE)
    message = image_annotations_msg(detections, ["cup", "can"], HEADER, foxglove)
    assert len(message.points) == 4 and len(message.texts) == 2  # box, outline, box, outline
    outline = message.points[1]
    assert outline.type == LINE_LOOP and outline.thickness > message.points[0].thickness
    xs, ys = [p.x for p in outline.points], [p.y for p in outline.points]
    assert (min(xs), min(ys), max(xs), max(ys)) == pytest.approx((30, 20, 70, 60), abs=0.5)


class Sink:
    def __init__(self, masks: bool) -> None:
        self.masks = masks
        self.results = []

    def wants_annotated(self, camera: str) -> bool:
        return False

    def wants_masks(self, camera: str) -> bool:
        return self.masks

    def publish(self, camera, result, frame, frames) -> None:
        self.results.append(result)


@pytest.mark.slow  # the tiny segmentation model (trained on first use)
def test_masks_only_for_frames_that_need_them(tiny_seg_models):
    detector = load_detector(tiny_seg_models.model("seg.onnx"), conf=0.25)
    image = cv2.imread(str(tiny_seg_models.images[-1]))
    frame = numpy_to_image(image, "bgr8", HEADER, IMAGE)
    frames = {"/cam": FrameDetector(detector, VisionMsgClasses.from_typestore(TYPESTORE), IMAGE)}
    for wanted in (False, True, False):
        sink = Sink(wanted)
        worker = InferenceWorker(["/cam"], sink, logging.getLogger("t"), time.time_ns)
        worker.update(lambda _: frames)
        (result,) = worker.process([("/cam", frame)]).values()
        assert len(result.detections) >= 1
        assert (result.detections.masks is not None) == wanted


@pytest.mark.slow  # the tiny segmentation model (trained on first use)
def test_odet_detect_writes_a_mask_image_per_frame(tiny_seg_models, tmp_path):
    bag = tmp_path / "shapes_bag"
    with BagWriter(bag) as writer:
        writer.add_topic("/camera/image_raw", "sensor_msgs/msg/Image")
        for index, path in enumerate(tiny_seg_models.images):
            header = make_header(TYPESTORE, (index + 1) * 10**9, "camera_optical_frame")
            image = numpy_to_image(cv2.imread(str(path)), "bgr8", header, IMAGE)
            writer.write("/camera/image_raw", (index + 1) * 10**9, image)
    out = tmp_path / "out"
    model = str(tiny_seg_models.model("seg.onnx"))
    assert main(["detect", model, str(bag), "--out", str(out), "--conf", "0.25"]) == 0
    with next((out / "detections_bag").glob("*.mcap")).open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        decoded = [(c.topic, m) for _, c, _, m in reader.iter_decoded_messages()]
    arrays = [m for topic, m in decoded if topic == "/detections"]
    masks = [m for topic, m in decoded if topic == "/instance_masks"]
    assert len(masks) == len(arrays) == len(tiny_seg_models.images)
    found = 0
    for array, mask in zip(arrays, masks, strict=True):
        assert (mask.header.stamp.sec, mask.header.frame_id) == (
            array.header.stamp.sec,
            array.header.frame_id,
        )
        labels = np.frombuffer(mask.data, np.uint16).reshape(mask.height, mask.width)
        assert mask.encoding == "mono16" and labels.max() <= len(array.detections)
        for index, detection in enumerate(array.detections):  # each mask inside its box
            rows, columns = np.nonzero(labels == index + 1)
            assert len(rows)
            box = detection.bbox
            assert abs(columns.mean() - box.center.position.x) < box.size_x / 2
            assert abs(rows.mean() - box.center.position.y) < box.size_y / 2
            found += 1
    assert found >= len(tiny_seg_models.images)
