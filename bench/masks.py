"""The mask step of a segmentation model: what it costs over the box-only path, and where the
upsampling pays to be done at the box rather than over the whole frame.

The tiny YOLO11n-seg of the tests (test/support/seg_models.py, trained at 160 px) exported to
ONNX at 320 (``.cache/bench-masks/``), on 640x480 frames of its shapes (four of its scenes of
one to three shapes, tiled). Figures, medians over 12 frames:

- ``box_only_ms``: ``Detector.detect`` of a frame with the masks off (what a -seg model costs
  when nobody needs its masks: the node's default until something subscribes to them).
  ``mask_step_ms``: what the masks add to the same frame, timed on the post-processing alone
  (the network output decoded with and without masks: the inference's own jitter, a
  millisecond here, would hide it); ``mask_step_share``: that over ``box_only_ms``.
  ``detections_per_frame``: what the masks were made for.
- ``mask_image_ms``: the node's ``instance_masks`` message of a frame (label image + Image).
- ``box_local_ms`` / ``full_frame_ms`` at 5, 20 and 50 detections (prototypes of a real frame,
  boxes of 40-160 px): the masks upsampled inside each box, against upsampled over the whole
  frame and then cut to the box (Ultralytics' ``retina_masks`` way); the same pixels either way
  (test_detection_masks.py). ``box_local_vs_full_frame``: the ratio at each count.

Run: ``.venv/bin/python bench/masks.py`` (about a minute on 2 cores; it builds the tiny model
the first time if the tests have not).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))

from support.seg_models import build_seg_models, draw_seg_scene  # noqa: E402

from odet_ros.bags import make_typestore  # noqa: E402
from odet_ros.detection import load_detector  # noqa: E402
from odet_ros.detection.masks import decode_masks  # noqa: E402
from odet_ros.interfaces import make_header  # noqa: E402
from odet_ros.messages.masks import instance_masks_msg  # noqa: E402

CACHE = REPO / ".cache" / "bench-masks"
FRAMES = 12
REPEATS = 15
IMGSZ = 320
HEIGHT, WIDTH = 480, 640


def onnx_at(imgsz: int) -> Path:
    """The tiny -seg model exported to ONNX at ``imgsz`` (made once)."""
    model = CACHE / f"seg_{imgsz}.onnx"
    if model.exists():
        return model
    import shutil

    from odet_ros.ultralytics_env import import_ultralytics

    source = build_seg_models().model("seg.pt")
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / "work"
    work.mkdir(exist_ok=True)
    shutil.copy(source, work / "seg.pt")
    exported = (
        import_ultralytics()
        .YOLO(str(work / "seg.pt"))
        .export(format="onnx", imgsz=imgsz, verbose=False)
    )
    shutil.move(exported, model)
    shutil.rmtree(work)
    return model


def frames(seed: int = 0) -> list[np.ndarray]:
    """640x480 frames of four scenes of one to three shapes each, tiled."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(FRAMES):
        tiles = [draw_seg_scene(rng, HEIGHT // 2, WIDTH // 2)[0] for _ in range(4)]
        out.append(np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])]))
    return out


def median_ms(run: Callable[[], object], repeats: int = REPEATS) -> float:
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    detector = load_detector(onnx_at(IMGSZ), conf=0.25)
    images = frames()
    box_only = replace(detector.settings, masks=False)
    with_masks = replace(detector.settings, masks=True)

    def detect(settings, image):  # type: ignore[no-untyped-def]
        detector.settings = settings
        return detector.detect(image)

    counts = [len(detect(with_masks, image)) for image in images]
    off = statistics.median(median_ms(lambda i=i: detect(box_only, i)) for i in images)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_at(IMGSZ)))
    steps = []
    for image in images:
        tensor, geometry = detector.preprocess(image)
        output, protos = session.run(None, {session.get_inputs()[0].name: tensor})
        post = {}
        for settings in (box_only, with_masks):
            detector.settings = settings
            post[settings.masks] = median_ms(
                lambda o=output, g=geometry, p=protos[0]: detector.postprocess(o, g, p)
            )
        steps.append(post[True] - post[False])
    step = statistics.median(steps)

    typestore = make_typestore("humble")
    image_type = typestore.types["sensor_msgs/msg/Image"]
    header = make_header(typestore, 0, "camera")
    found = [detect(with_masks, image) for image in images]
    mask_image = statistics.median(
        median_ms(lambda f=f: instance_masks_msg(f, (HEIGHT, WIDTH), header, image_type))
        for f in found
    )

    figures = {
        "detections_per_frame": float(np.mean(counts)),
        "box_only_ms": off,
        "mask_step_ms": step,
        "mask_step_share": step / off,
        "mask_image_ms": mask_image,
    }
    # the upsampling alone: the prototypes of a real frame, boxes placed at random
    tensor, geometry = detector.preprocess(images[0])
    protos = session.run(None, {session.get_inputs()[0].name: tensor})[1][0]
    rng = np.random.default_rng(1)
    for count in (5, 20, 50):
        sizes = rng.uniform(40, 160, (count, 2))
        corners = rng.uniform(0, 1, (count, 2)) * ([WIDTH, HEIGHT] - sizes)
        boxes = np.hstack([corners, corners + sizes]).astype(np.float32)
        coefficients = rng.normal(0, 1, (count, protos.shape[0])).astype(np.float32)
        local = median_ms(lambda c=coefficients, b=boxes: decode_masks(c, protos, b, geometry))
        whole = median_ms(
            lambda c=coefficients, b=boxes: decode_masks(c, protos, b, geometry, full_frame=True)
        )
        figures[f"box_local_ms_{count}"] = local
        figures[f"full_frame_ms_{count}"] = whole
        figures[f"box_local_vs_full_frame_{count}"] = local / whole
    for name, value in figures.items():
        print(f"{name}: {value:.3f}")


if __name__ == "__main__":
    main()
