"""Backend selection: suffixes, names, devices, execution providers, input layouts."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from odet_ros.detection import ModelError, SettingError, load_detector
from odet_ros.detection.backends import backend_name
from odet_ros.detection.backends.base import BackendOptions, input_layout
from odet_ros.detection.backends.onnx import execution_providers, open_model, session_options

ALL_PROVIDERS = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.mark.parametrize(
    ("file", "requested", "expected"),
    [
        ("m.pt", None, "ultralytics"),
        ("m.ONNX", None, "onnxruntime"),
        ("m.tflite", None, "litert"),
        ("m.engine", None, "tensorrt"),
        ("m.bin", "onnx", "onnxruntime"),
        ("m.onnx", "tflite", "litert"),
    ],
)
def test_backend_follows_the_suffix_unless_named(file, requested, expected):
    assert backend_name(Path(file), requested) == expected


def test_devices_parse_and_bad_ones_name_the_setting():
    assert BackendOptions("cpu").gpu_index is None
    assert BackendOptions("cuda").gpu_index == 0
    assert BackendOptions("cuda:2").gpu_index == 2
    for bad in ("gpu", "cuda:x", "0"):
        with pytest.raises(SettingError, match="device must be"):
            BackendOptions(bad)
    with pytest.raises(SettingError, match="num_threads must be at least 1"):
        BackendOptions(num_threads=0)


def test_gpu_providers_come_first_with_the_device_index():
    providers = execution_providers(BackendOptions("cuda:1", half=True), ALL_PROVIDERS)
    assert [p if isinstance(p, str) else p[0] for p in providers] == ALL_PROVIDERS
    tensorrt, cuda = providers[0][1], providers[1][1]
    assert tensorrt["device_id"] == 1 and tensorrt["trt_fp16_enable"] is True
    assert tensorrt["trt_engine_cache_enable"] is True and cuda == {"device_id": 1}
    assert execution_providers(BackendOptions("cpu"), ALL_PROVIDERS) == ["CPUExecutionProvider"]


@pytest.mark.slow
def test_cuda_without_a_gpu_runtime_falls_back_to_the_cpu_with_a_warning(tiny_models, caplog):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has a GPU provider")
    with caplog.at_level(logging.WARNING):
        detector = load_detector(tiny_models.model("tiny.onnx"), device="cuda:0")
    assert "device cuda:0 requested but onnxruntime has no GPU provider" in caplog.text
    assert detector.backend_name == "onnxruntime"


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((1, 3, 320, 256), ("nchw", (320, 256))),
        ((1, 320, 256, 3), ("nhwc", (320, 256))),
        ((1, 3, "height", "width"), ("nchw", None)),
        ((1, 3, -1, -1), ("nchw", None)),
    ],
)
def test_input_layout_from_the_shape(shape, expected):
    assert input_layout(shape, Path("m.onnx")) == expected


def test_input_that_is_not_an_image_batch_names_the_model():
    with pytest.raises(
        ModelError, match=re.escape("m.onnx: input shape [1, 4, 64, 64] is not a 3-channel")
    ):
        input_layout((1, 4, 64, 64), Path("m.onnx"))


def test_litert_comes_from_ai_edge_litert_when_installed():
    pytest.importorskip("ai_edge_litert")
    from odet_ros.detection.backends.litert import interpreter_class

    assert interpreter_class().__module__.startswith("ai_edge_litert")


@pytest.mark.slow
def test_a_dynamic_onnx_takes_stride_aligned_rectangles_and_a_static_one_its_size(tiny_models):
    dynamic = open_model(tiny_models.model("tiny_dynamic.onnx"), BackendOptions())
    static = open_model(tiny_models.model("tiny.onnx"), BackendOptions())
    assert (dynamic.input.hw, dynamic.stride) == (None, 32)
    assert (static.input.hw, static.stride) == ((160, 160), None)


@pytest.mark.slow
def test_busy_wait_spins_within_runs_only_and_off_never_spins(tiny_models):
    quiet = session_options(BackendOptions(busy_wait=False))
    for key in ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning"):
        assert quiet.get_session_config_entry(key) == "0"
    spinning = session_options(BackendOptions())
    assert spinning.get_session_config_entry("session.force_spinning_stop") == "1"
    with pytest.raises(RuntimeError):  # spinning within a run stays ORT's own (on)
        spinning.get_session_config_entry("session.intra_op.allow_spinning")
    detector = load_detector(tiny_models.model("tiny.onnx"), busy_wait=False, conf=0.25)
    image = cv2.imread(str(tiny_models.images[0]))
    reference = load_detector(tiny_models.model("tiny.onnx"), conf=0.25).detect(image)
    np.testing.assert_allclose(detector.detect(image).xyxy, reference.xyxy, atol=1e-4)


def test_concurrent_runs_share_the_cpu_threads_out_and_a_gpu_session_keeps_them():
    def threads(options: BackendOptions, cpu_only: bool = True) -> int:
        return session_options(options, cpu_only).intra_op_num_threads

    assert threads(BackendOptions(num_threads=4, concurrent_runs=2)) == 2
    assert threads(BackendOptions(num_threads=3, concurrent_runs=4)) == 1  # never none
    assert threads(BackendOptions(num_threads=4, concurrent_runs=2), cpu_only=False) == 4
    assert threads(BackendOptions(num_threads=4)) == 4
    with pytest.raises(SettingError, match="concurrent_runs"):
        BackendOptions(concurrent_runs=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tiny.onnx", "tiny.tflite", "tiny_int8.tflite"])
def test_threads_detecting_at_once_get_what_one_thread_gets(tiny_models, name):
    """Each thread letterboxes into its own buffers (with one shared buffer, a thread's tensor
    is overwritten by another's frame before its run) and runs on an ONNX session that takes
    concurrent runs or on a LiteRT interpreter of its own, whose output it keeps."""
    if name.endswith(".tflite"):
        pytest.importorskip("ai_edge_litert")
    detector = load_detector(tiny_models.model(name), conf=0.05, concurrent_runs=2)
    assert detector.concurrent_runs == 2
    images = [cv2.imread(str(path)) for path in tiny_models.images[:4]]
    images += [cv2.flip(image, 1) for image in images]
    expected = [detector.detect(image) for image in images]
    wrong: list[int] = []

    def detect_all(order: list[int]) -> None:
        for _ in range(5):
            for i in order:
                found = detector.detect(images[i])
                if found.xyxy.shape != expected[i].xyxy.shape or not np.allclose(
                    found.xyxy, expected[i].xyxy, atol=1e-3
                ):
                    wrong.append(i)

    indexes = list(range(len(images)))
    threads = [
        threading.Thread(target=detect_all, args=(order,)) for order in (indexes, indexes[::-1])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong
    assert sum(len(found) for found in expected) > 0


def test_a_litert_model_opens_an_interpreter_per_concurrent_run(tiny_models):
    pytest.importorskip("ai_edge_litert")
    from odet_ros.detection.backends.litert import LiteRTBackend

    path = tiny_models.model("tiny.tflite")
    backend = LiteRTBackend(path, BackendOptions(num_threads=4, concurrent_runs=2))
    assert backend.concurrent_runs == 2
    assert load_detector(path, concurrent_runs=2).concurrent_runs == 2
    assert load_detector(path).concurrent_runs == 1
    tensor = np.zeros((1, 3, *backend.input.hw), np.float32)
    first = backend.run(tensor)
    second = backend.run(tensor + 1)  # on the other interpreter (they take turns)
    assert not np.shares_memory(first, second)  # each run's output is its own


@pytest.mark.parametrize("name", ["tiny.pt", "tiny.onnx", "tiny.tflite", "tiny_nms.onnx"])
def test_a_raw_head_names_each_box_s_runner_up_class_an_nms_export_cannot(tiny_models, name):
    if name.endswith(".pt"):
        pytest.importorskip("ultralytics")  # robots run the exports, not the .pt
    detector = load_detector(tiny_models.model(name), conf=0.05)
    found = detector.detect(cv2.imread(str(tiny_models.images[0])))
    assert len(found)
    if name == "tiny_nms.onnx":  # NMS inside the model keeps the best class only
        assert found.runner_up is None
        return
    runner_up_ids, runner_up_scores = found.runner_up
    assert np.all(runner_up_ids != found.class_ids)
    assert np.all(runner_up_scores <= found.scores)
    assert np.all((runner_up_ids >= 0) & (runner_up_ids < len(detector.names)))


def _same(found, expected) -> None:
    assert len(found) == len(expected)
    np.testing.assert_allclose(found.xyxy, expected.xyxy, atol=1e-3)
    np.testing.assert_allclose(found.scores, expected.scores, atol=1e-5)
    np.testing.assert_array_equal(found.class_ids, expected.class_ids)


def test_a_dynamic_batch_runs_several_cameras_at_once_as_each_alone(tiny_models):
    """One frame of each camera in one run of a dynamic-batch ONNX: every camera's boxes as a
    run of its own frame gives them; frames of other sizes (another camera model) too."""
    detector = load_detector(tiny_models.model("tiny_dynamic.onnx"), conf=0.1)
    assert detector._backend.input.batch == 0  # any number of frames
    # one camera model: frames of one size, so they stack into one tensor
    images = [cv2.resize(cv2.imread(str(p)), (320, 240)) for p in tiny_models.images[:3]]
    alone = [detector.detect(image) for image in images]
    found = detector.detect_batch(images, ["bgr8"] * 3)
    for batched, single in zip(found, alone, strict=True):
        _same(batched, single)
    assert sum(len(f) for f in found) > 0
    mixed = [images[0], cv2.resize(images[1], (200, 120))]
    for batched, image in zip(detector.detect_batch(mixed, ["bgr8"] * 2), mixed, strict=True):
        _same(batched, detector.detect(image))


def test_a_single_frame_model_runs_a_batch_one_frame_at_a_time(tiny_models):
    detector = load_detector(tiny_models.model("tiny.onnx"), conf=0.1)
    assert detector._backend.input.batch == 1
    images = [cv2.imread(str(p)) for p in tiny_models.images[:2]]
    for batched, image in zip(detector.detect_batch(images, ["bgr8"] * 2), images, strict=True):
        _same(batched, detector.detect(image))


def test_a_pytorch_checkpoint_runs_several_cameras_at_once_as_each_alone(tiny_models):
    """A .pt takes any batch: frames of one size run as one batch, each with the boxes a run
    of its own gives."""
    pytest.importorskip("ultralytics")  # robots run the exports, not the .pt
    detector = load_detector(tiny_models.model("tiny.pt"), conf=0.1)
    assert detector._backend.input.batch == 0
    images = [cv2.resize(cv2.imread(str(p)), (320, 240)) for p in tiny_models.images[:3]]
    runs = []
    run = detector._backend.run
    detector._backend.run = lambda tensor: runs.append(len(tensor)) or run(tensor)
    found = detector.detect_batch(images, ["bgr8"] * 3)
    assert runs == [3]
    for batched, image in zip(found, images, strict=True):
        _same(batched, detector.detect(image))
    assert sum(len(f) for f in found) > 0
