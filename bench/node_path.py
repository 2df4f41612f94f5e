"""Where the detector node's time per frame goes, stage by stage, against the bare model.

The node's own per-frame path for a 640x480 bgr8 ``sensor_msgs/Image`` and a YOLO11n ONNX at 320
(the bench/node.py model), each stage timed on its own in this process over many frames, as the
node runs it:

- ``read_serialized_ms``: the received CDR bytes read as an Image in place (what the node does:
  it subscribes with ``raw``, :mod:`odet_ros.imaging.cdr`); ``deserialize_ms``: rclpy turning
  them into an Image message instead (what the node did before; not in ``ours_ms``).
- ``pixels_ms``: the Image as the letterboxer takes it (a view of its buffer for bgr8).
- ``letterbox_ms``: resize, pad, channel swap, scaling into the input tensor.
- ``model_ms``: ONNX Runtime's ``session.run`` on that tensor (the bare model).
- ``decode_ms``: decoding the head, NMS, mapping boxes back to source pixels (``boxes``: how
  many remain; the threshold is set under the model's 40 best anchors, as the untrained model
  scores nothing above 0.25).
- ``message_ms``: building the Detection2DArray.
- ``serialize_ms``: rclpy turning it into CDR bytes (what ``publish`` does before DDS).
- ``ours_ms``: the stages other than the model, summed; ``path_vs_model``: the whole path over
  the model alone. What bench/node.py's p50 over real DDS adds beyond this path is transport and
  thread wake-ups.

Figures are medians over ``RUNS`` frames after a warm-up. Run with ROS 2 sourced, in the ROS venv:
``.venv-ros-humble/bin/python bench/node_path.py`` (about 20 s; bench/node.py exports the model
the first time).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import cv2
import numpy as np
from node import exported_models  # bench/node.py (this script's folder): the cached exports
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from odet_ros.detection.detector import load_detector
from odet_ros.imaging import numpy_to_image
from odet_ros.imaging.cdr import image_from_cdr
from odet_ros.messages import VisionMsgClasses, detections_to_msg
from odet_ros.nodes.camera_subscription import ros_header
from odet_ros.runtime.frame_detector import frame_pixels

SIZE = 320
FRAME_HW = (480, 640)
RUNS = 200
CANDIDATES = 40  # anchors over the threshold: a busy scene's worth of boxes before NMS
WARMUP = 20


def timed(step: Callable[[], object], runs: int = RUNS) -> tuple[float, object]:
    """Median milliseconds of ``step`` over ``runs`` after a warm-up, and its last result."""
    result = None
    for _ in range(WARMUP):
        result = step()
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        result = step()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds) * 1e3, result


def main() -> None:
    model = exported_models()[SIZE]
    detector = load_detector(model, busy_wait=True)
    vision = VisionMsgClasses.from_ros()
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (FRAME_HW[0] // 16, FRAME_HW[1] // 16, 3), dtype=np.uint8)
    frame = cv2.resize(coarse, FRAME_HW[::-1], interpolation=cv2.INTER_CUBIC)
    image = numpy_to_image(frame, "bgr8", Header(frame_id="camera_optical_frame"), Image)
    wire = serialize_message(image)

    figures: dict[str, float] = {}
    before_ms, _ = timed(lambda: deserialize_message(wire, Image))
    figures["read_serialized_ms"], received = timed(lambda: image_from_cdr(wire, ros_header))
    figures["pixels_ms"], (pixels, color) = timed(lambda: frame_pixels(received))
    figures["letterbox_ms"], (tensor, geometry) = timed(lambda: detector.preprocess(pixels, color))
    figures["model_ms"], output = timed(lambda: detector.run(tensor))
    # the untrained model scores nothing above 0.25: a threshold under its CANDIDATES best
    # anchors gives the decode, NMS and message steps a working load of boxes
    scores = np.asarray(output)[0, 4:, :].max(axis=0)
    conf = float(np.sort(scores)[-CANDIDATES]) - 1e-6
    detector.settings = replace(detector.settings, conf=conf)
    figures["decode_ms"], detections = timed(lambda: detector.postprocess(output, geometry))
    header = received.header
    figures["message_ms"], message = timed(
        lambda: detections_to_msg(detections, detector.names, header, vision)
    )
    figures["serialize_ms"], _ = timed(lambda: serialize_message(message))
    ours = sum(v for k, v in figures.items() if k != "model_ms")
    figures["ours_ms"] = ours
    figures["deserialize_ms"] = before_ms
    figures["path_vs_model"] = (ours + figures["model_ms"]) / figures["model_ms"]
    figures["boxes"] = float(len(detections))
    for name, value in figures.items():
        print(f"{name}: {value:.3f}" if name.endswith("_ms") else f"{name}: {value:.2f}")


if __name__ == "__main__":
    main()
