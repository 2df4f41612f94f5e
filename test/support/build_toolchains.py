"""Build the toolchain test models into a folder (argument): run with .venv-toolchains' Python.

YOLOv5: trained from the `yolov5` package's own yolov5n.yaml (narrowed) by its train.py,
exported by its export.py, with the arguments of docs/bring-your-own-model.md, to ONNX
(static, dynamic), TFLite fp16 and int8 (its --nms export fails under Keras 3: the Flex path
is checked in the unit tests only);
its predictions come from its own DetectMultiBackend, non_max_suppression and scale_boxes,
as its detect.py runs them. TensorFlow: a small SSD trained in Keras, whose exported function
ends in the ``TFLite_Detection_PostProcess`` composite (as the Object Detection API's
export_tflite_graph_tf2 writes it), converted by TFLite's converter to fp32 and to int8 with
uint8 input, and once more with its outputs in the order TF2 exports return them, by the
commands of docs/bring-your-own-model.md; its predictions come from TensorFlow's own
interpreter through the signature's named outputs. See support/toolchains.py.

yolov5 7.0.14 predates numpy 2.4 (``np.trapz``), torch 2.6's ``weights_only`` default and
torch's switch to the dynamo ONNX exporter: the shims below give it what it was written for.
Both stages run torch and TensorFlow on one thread (RECIPE): on the 2 shared cores of the
machine this was written on, one thread trained 5x faster than two.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import cv2
import numpy as np

# test/ instead of this folder: its models.py would shadow YOLOv5's top-level `models` package
sys.path[0] = str(Path(__file__).resolve().parents[1])
from support.models import NAMES, draw_scene, write_dataset, write_parity_images  # noqa: E402
from support.toolchains import (  # noqa: E402
    LABELMAP,
    RECIPE,
    REFERENCE_IOU,
    ROUNDED_INPUT,
    SSD_CONF,
    SSD_OUTPUTS,
    YOLOV5_CONF,
    YOLOV5_MODELS,
)

np.trapz = np.trapezoid  # type: ignore[attr-defined]
OP_OUTPUTS = ("boxes", "classes", "scores", "count")  # TFLite_Detection_PostProcess' own order


def yolov5_models(work: Path, data: Path) -> None:
    import torch

    torch.set_num_threads(RECIPE["threads"])
    torch.onnx.export = functools.partial(torch.onnx.export, dynamo=False)
    fonts = work / "yolov5-config"  # its dataset check fetches a font otherwise
    fonts.mkdir()
    import matplotlib

    shutil.copy(
        Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", fonts / "Arial.ttf"
    )
    os.environ["YOLOV5_CONFIG_DIR"] = str(fonts)
    import yolov5
    from yolov5 import export, train

    recipe = RECIPE["yolov5"]
    package = Path(yolov5.__file__).parent
    cfg = work / "yolov5_tiny.yaml"
    text = (package / "models" / "yolov5n.yaml").read_text()
    cfg.write_text(text.replace("width_multiple: 0.25", "width_multiple: 0.125"))
    hyp = work / "hyp.yaml"
    overrides = recipe["hyp"]
    lines = (package / "data" / "hyps" / "hyp.scratch-low.yaml").read_text().splitlines()
    hyp.write_text(
        "\n".join(
            f"{line.split(':')[0]}: {overrides[line.split(':')[0]]}"
            if line.split(":")[0] in overrides
            else line
            for line in lines
        )
    )
    train.run(
        data=str(data),
        cfg=str(cfg),
        weights="",
        hyp=str(hyp),
        imgsz=recipe["imgsz"],
        epochs=recipe["epochs"],
        batch_size=recipe["batch"],
        optimizer=recipe["optimizer"],
        device="cpu",
        workers=0,
        seed=0,
        noplots=True,
        project=str(work / "runs"),
        name="train",
    )
    shutil.copy(work / "runs" / "train" / "weights" / "last.pt", work / "yolov5.pt")
    for names, flags in recipe["exports"]:  # each in a folder of its own: names clash
        folder = work / "exports" / names[0].replace(".", "_")
        folder.mkdir(parents=True)
        shutil.copy(work / "yolov5.pt", folder / "yolov5.pt")
        # python export.py --weights yolov5.pt --imgsz 160 FLAGS, parsed by its own parser
        arguments = ["--weights", str(folder / "yolov5.pt"), "--imgsz", str(recipe["imgsz"])]
        sys.argv = ["export.py", *arguments, *shlex.split(flags.replace("data.yaml", str(data)))]
        options = export.parse_opt()
        (options.weights,) = options.weights
        made = {Path(f).suffix: Path(f) for f in export.run(**vars(options)) if f}
        for name in names:
            made[Path(name).suffix].replace(work / name)


def yolov5_predictions(
    model: Path, images: list[Path], round_input: bool = False
) -> dict[str, dict[str, list]]:
    """What the yolov5 package's own detect.py pipeline finds in each image. ``round_input``
    (a uint8-input TFLite): the tensor handed to it is moved so that the truncation in its
    DetectMultiBackend gives the rounded quantised pixels, as odet and TFLite's own Quantize op
    round them; nothing else changes."""
    import torch
    from yolov5.models.common import DetectMultiBackend
    from yolov5.utils.augmentations import letterbox
    from yolov5.utils.general import non_max_suppression, scale_boxes

    torch.set_num_threads(RECIPE["threads"])
    network = DetectMultiBackend(str(model), device=torch.device("cpu"))
    found = {}
    for path in images:
        original = cv2.imread(str(path))
        im = letterbox(original, RECIPE["yolov5"]["imgsz"], stride=network.stride, auto=network.pt)[
            0
        ]
        im = np.ascontiguousarray(im.transpose((2, 0, 1))[::-1])
        tensor = (torch.from_numpy(im).float() / 255)[None]
        if round_input:
            tensor = _rounding(tensor, *network.input_details[0]["quantization"])
        pred = network(tensor)
        det = non_max_suppression(pred, YOLOV5_CONF, REFERENCE_IOU, max_det=300)[0]
        det[:, :4] = scale_boxes(tensor.shape[2:], det[:, :4], original.shape)
        found[path.name] = _arrays(det[:, :4].numpy(), det[:, 4].numpy(), det[:, 5].numpy())
    return found


def _rounding(tensor, scale: float, zero_point: int):
    """The input whose ``(x / scale + zero_point).astype(np.uint8)`` is the rounded, clipped
    quantised value of ``tensor``: that value plus a half, scaled back (far from any rounding
    edge)."""
    quantised = (tensor / scale + zero_point).round().clamp(0, 255)
    return (quantised - zero_point + 0.5) * scale


def ssd_models(work: Path) -> None:
    import tensorflow as tf

    recipe = RECIPE["ssd"]
    size, count = recipe["imgsz"], len(NAMES)
    tf.keras.utils.set_random_seed(0)
    grid = 8
    centres = (np.arange(grid) + 0.5) / grid
    anchors = np.array(
        [[y, x, s, s] for y in centres for x in centres for s in (0.3, 0.5)], np.float32
    )
    images, classes, boxes = _ssd_data(anchors, recipe["train_images"], size)
    network = _ssd_network(size, len(anchors), count)
    optimizer = tf.keras.optimizers.Adam(3e-3)

    @tf.function
    def step(x: tf.Tensor, c: tf.Tensor, e: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            box, logits = network(x, training=True)
            ce = tf.keras.losses.sparse_categorical_crossentropy(c, logits, from_logits=True)
            positive = tf.cast(c > 0, tf.float32)
            n = tf.maximum(tf.reduce_sum(positive), 1.0)
            class_loss = tf.reduce_sum(ce * (positive + 0.25 * (1 - positive))) / n
            huber = tf.keras.losses.huber(e[..., None], box[..., None])
            box_loss = tf.reduce_sum(tf.reduce_sum(huber, -1) * positive) / n
            loss = class_loss + box_loss
        variables = network.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    for epoch in range(recipe["epochs"]):
        order = np.random.default_rng(epoch).permutation(len(images))
        for start in range(0, len(images), 16):
            chosen = order[start : start + 16]
            step(images[chosen], classes[chosen], boxes[chosen])
    # the weights as constants, so that the converter sees a frozen graph
    layers = [layer for layer in network.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    weights = [(np.array(layer.kernel), np.array(layer.bias), layer.strides[0]) for layer in layers]

    def forward(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        for kernel, bias, stride in weights[:-2]:
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, stride, "SAME") + bias)
        box = tf.nn.conv2d(x, weights[-2][0], 1, "SAME") + weights[-2][1]
        logits = tf.nn.conv2d(x, weights[-1][0], 1, "SAME") + weights[-1][1]
        return tf.reshape(box, (1, len(anchors), 4)), tf.reshape(
            logits, (1, len(anchors), count + 1)
        )

    implements = " ".join(
        [
            'name: "TFLite_Detection_PostProcess"',
            'attr { key: "max_detections" value { i: 20 } }',
            'attr { key: "max_classes_per_detection" value { i: 1 } }',
            'attr { key: "use_regular_nms" value { b: false } }',
            'attr { key: "nms_score_threshold" value { f: 0.000001 } }',
            'attr { key: "nms_iou_threshold" value { f: 0.5 } }',
            'attr { key: "y_scale" value { f: 10.0 } }',
            'attr { key: "x_scale" value { f: 10.0 } }',
            'attr { key: "h_scale" value { f: 5.0 } }',
            'attr { key: "w_scale" value { f: 5.0 } }',
            f'attr {{ key: "num_classes" value {{ i: {count} }} }}',
        ]
    )

    class Detector(tf.Module):
        def __init__(self, outputs: tuple[str, ...]) -> None:
            super().__init__()
            self.outputs = outputs  # the roles, in the order the function returns them

        @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32)])
        def detect(self, image: tf.Tensor) -> tuple[tf.Tensor, ...]:
            box, logits = forward(image)
            made = self.post(box, tf.nn.softmax(logits), tf.constant(anchors))
            by_role = dict(zip(OP_OUTPUTS, made, strict=True))
            return tuple(by_role[role] for role in self.outputs)

        @tf.function(experimental_implements=implements)
        def post(self, boxes: tf.Tensor, scores: tf.Tensor, anchors: tf.Tensor) -> tuple:
            # an empty composite the converter replaces with TFLite's op (as the Object
            # Detection API's export does)
            return tuple(tf.constant(0.0, name=n) for n in OP_OUTPUTS)

    # as the documented commands: the graph saved as the Object Detection API's TF2 export saves
    # it, then tflite_convert (fp32), or the Python converter (uint8 input)
    for name, outputs in SSD_OUTPUTS.items():
        module = Detector(outputs)
        saved = work / f"saved_model_{Path(name).stem}"
        tf.saved_model.save(module, str(saved), signatures=module.detect)
        if "uint8" in name:
            converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([images[i : i + 1]] for i in range(32))
            converter.inference_input_type = tf.uint8
            (work / name).write_bytes(converter.convert())
        else:
            convert = Path(sys.executable).with_name("tflite_convert")
            arguments = ["--saved_model_dir", str(saved), "--output_file", str(work / name)]
            subprocess.run([str(convert), *arguments], check=True)
        shutil.rmtree(saved)
    (work / LABELMAP).write_text("\n".join(["???", *NAMES]) + "\n")


def _ssd_network(size: int, anchors: int, count: int):
    import tensorflow as tf

    x = inputs = tf.keras.Input((size, size, 3))
    for filters in (16, 32, 48, 64):
        x = tf.keras.layers.Conv2D(filters, 3, 2, padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    per_cell = anchors // (size // 16) ** 2
    box = tf.keras.layers.Conv2D(per_cell * 4, 1)(x)
    logits = tf.keras.layers.Conv2D(per_cell * (count + 1), 1)(x)
    box = tf.keras.layers.Reshape((anchors, 4))(box)
    logits = tf.keras.layers.Reshape((anchors, count + 1))(logits)
    return tf.keras.Model(inputs, [box, logits])


def _ssd_data(
    anchors: np.ndarray, count: int, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scenes stretched to the input and scaled to -1..1, each anchor's class (0: background)
    and its box encoded against the anchor (centre offsets x10, log sizes x5)."""
    rng = np.random.default_rng(0)
    corners = np.concatenate(
        [anchors[:, :2] - anchors[:, 2:] / 2, anchors[:, :2] + anchors[:, 2:] / 2], 1
    )
    images, classes, encoded = [], [], []
    for i in range(count):
        image, labels = draw_scene(rng, *[(128, 128), (160, 160), (120, 200), (200, 120)][i % 4])
        rgb = cv2.resize(image, (size, size))[..., ::-1].astype(np.float32)
        images.append(rgb / 127.5 - 1)
        cls, enc = np.zeros(len(anchors), np.int32), np.zeros((len(anchors), 4), np.float32)
        for c, cx, cy, w, h in labels:
            box = np.array([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2])
            lt, rb = np.maximum(corners[:, :2], box[:2]), np.minimum(corners[:, 2:], box[2:])
            inter = np.prod(np.clip(rb - lt, 0, None), 1)
            iou = inter / (np.prod(anchors[:, 2:], 1) + w * h - inter)
            positive = iou >= 0.45
            positive[iou.argmax()] = True
            cls[positive] = int(c) + 1
            ya, xa, ha, wa = anchors[positive].T
            enc[positive] = np.stack(
                [(cy - ya) / ha * 10, (cx - xa) / wa * 10, np.log(h / ha) * 5, np.log(w / wa) * 5],
                1,
            )
        classes.append(cls)
        encoded.append(enc)
    return np.stack(images), np.stack(classes), np.stack(encoded)


def ssd_predictions(model: Path, images: list[Path]) -> dict[str, dict[str, list]]:
    """What TensorFlow's own interpreter finds, its outputs read by their signature names
    (output_0..3, in the order the exported function returns them: SSD_OUTPUTS)."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(model))
    runner = interpreter.get_signature_runner()
    ((name, detail),) = runner.get_input_details().items()
    height, width = detail["shape"][1:3]
    found = {}
    for path in images:
        original = cv2.imread(str(path))
        rgb = cv2.resize(original, (width, height), interpolation=cv2.INTER_LINEAR)[..., ::-1]
        if detail["dtype"] == np.uint8:
            tensor = np.ascontiguousarray(rgb)[None]
        else:
            tensor = (rgb.astype(np.float32) / 127.5 - 1)[None]
        out = {
            role: value[0]
            for role, value in zip(
                SSD_OUTPUTS[model.name],
                (v for _, v in sorted(runner(**{name: tensor}).items())),
                strict=True,
            )
        }
        n = int(out["count"])
        boxes, classes, scores = out["boxes"][:n], out["classes"][:n], out["scores"][:n]
        keep = scores > SSD_CONF
        h, w = original.shape[:2]
        scale = np.array([w, h, w, h], np.float32)  # clamped to the image, as its examples do
        xyxy = np.clip(boxes[keep][:, [1, 0, 3, 2]] * scale, 0, scale)
        found[path.name] = _arrays(xyxy, scores[keep], classes[keep])
    return found


def _arrays(xyxy: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> dict[str, list]:
    return {
        "xyxy": np.asarray(xyxy, np.float64).reshape(-1, 4).tolist(),
        "scores": np.asarray(scores, np.float64).tolist(),
        "class_ids": np.asarray(classes).astype(int).tolist(),
    }


def main(work: Path, stage: str) -> None:
    """One toolchain per process (TensorFlow imported before torch crashes the process):
    ``ssd``, then ``yolov5``, each writing its predictions to ``reference-<stage>.json``."""
    started = time.monotonic()
    threads = str(RECIPE["threads"])  # read when TensorFlow and torch start (imported below)
    for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[variable] = threads
    if stage == "ssd":
        write_parity_images(work / "images")
        images = sorted((work / "images").glob("*.png"))
        ssd_models(work)
        reference = {name: ssd_predictions(work / name, images) for name in SSD_OUTPUTS}
    else:
        images = sorted((work / "images").glob("*.png"))
        recipe = RECIPE["yolov5"]
        data = write_dataset(
            work / "dataset",
            train_images=recipe["train_images"],
            train_sizes=[(recipe["train_size"], recipe["train_size"])],
        )
        yolov5_models(work, data)
        reference = {  # the dynamic ONNX is held to the .pt's
            name: yolov5_predictions(work / name, images)
            for name in YOLOV5_MODELS
            if name != "yolov5_dynamic.onnx"
        }
        reference[ROUNDED_INPUT] = yolov5_predictions(
            work / "yolov5-int8.tflite", images, round_input=True
        )
        for folder in ("runs", "exports", "yolov5-config"):
            shutil.rmtree(work / folder)
    (work / f"reference-{stage}.json").write_text(json.dumps(reference))
    print(f"{stage} stage: {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
