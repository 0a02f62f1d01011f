#!/usr/bin/env python3
"""Writes the small ONNX fixture models that the decoder, NMS and letterbox tests run.

Each fixture takes `images` [N, 3, 64, 64] (dynamic batch) and returns a constant detection
tensor in one of the three output layouts the service decodes, broadcast over the batch, so
that the expected boxes after NMS and threshold are known exactly. They are test fixtures,
not models: they ignore the pixels.

    .venv/bin/python tools/make_fixtures.py   # rewrites tests/fixtures/models/*

It also writes two fixtures for the batching tests into tests/fixtures/batching/: a small
convolutional net whose outputs depend on the pixels (so that a scan's result alone and
inside a batch can be compared), and a deliberately slow model (a chain of large matrix
products, then the constant yolov8 detections) that keeps an executor busy.

And one for the declaration and risk tests into tests/fixtures/risk/: a colour-keyed model
whose pistol score is 0.9 x the mean red and whose cigarettes score is 0.9 x the mean green of
the input, so that a test chooses what is "found" by the colour of the image it sends.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "models"
BATCHING_OUT = OUT.parent / "batching"
RISK_OUT = OUT.parent / "risk"
SIZE = 64
CLASSES = [("pistol", "weapon", 0.5), ("cigarettes", "undeclared_goods", 0.4), ("bag", "other", 0.3)]

# (class index, x1, y1, x2, y2, score) in the 64x64 input's pixels.
# A and B overlap (IoU 0.78) in one class: NMS keeps A only. C has A's box in another class:
# class-aware NMS keeps it. E is under the pistol threshold. The rest are kept.
CANDIDATES = [
    (0, 8.0, 8.0, 24.0, 24.0, 0.9),  # A: kept
    (0, 9.0, 9.0, 25.0, 25.0, 0.8),  # B: suppressed by A
    (1, 8.0, 8.0, 24.0, 24.0, 0.7),  # C: kept (other class)
    (1, 40.0, 40.0, 60.0, 56.0, 0.45),  # D: kept
    (0, 40.0, 8.0, 56.0, 20.0, 0.3),  # E: under threshold
    (2, 2.0, 30.0, 30.0, 62.0, 0.35),  # F: kept
]
PADDING_ANCHORS = 2  # anchors with every score at 0.01


def yolov8_output() -> np.ndarray:
    """[1, 4 + C, A]: cx, cy, w, h, then one score per class."""
    rows = []
    for cls, x1, y1, x2, y2, score in CANDIDATES:
        scores = [0.01] * len(CLASSES)
        scores[cls] = score
        rows.append([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, *scores])
    for _ in range(PADDING_ANCHORS):
        rows.append([32.0, 32.0, 10.0, 10.0] + [0.01] * len(CLASSES))
    return np.array(rows, dtype=np.float32).T[None]


# Objectness times class probability gives each YOLOv5 candidate the score above.
V5_SPLIT = {0.9: (0.9, 1.0), 0.8: (1.0, 0.8), 0.7: (1.0, 0.7), 0.45: (0.5, 0.9), 0.3: (0.6, 0.5), 0.35: (0.7, 0.5)}


def yolov5_output() -> np.ndarray:
    """[1, A, 5 + C]: cx, cy, w, h, objectness, then class probabilities."""
    rows = []
    for cls, x1, y1, x2, y2, score in CANDIDATES:
        obj, prob = V5_SPLIT[score]
        probs = [0.0] * len(CLASSES)
        probs[cls] = prob
        rows.append([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, obj, *probs])
    for _ in range(PADDING_ANCHORS):
        rows.append([32.0, 32.0, 10.0, 10.0, 0.01] + [1.0 / len(CLASSES)] * len(CLASSES))
    return np.array(rows, dtype=np.float32)[None]


def end2end_output() -> np.ndarray:
    """[1, K, 6]: x1, y1, x2, y2, score, class id, NMS already applied (so no B)."""
    rows = [[x1, y1, x2, y2, score, float(cls)] for cls, x1, y1, x2, y2, score in CANDIDATES if score != 0.8]
    for _ in range(PADDING_ANCHORS):
        rows.append([0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    return np.array(rows, dtype=np.float32)[None]


def constant_model(name: str, output: np.ndarray, output_name: str) -> onnx.ModelProto:
    """Output = constant + 0 * mean(images): the constant, broadcast to the input's batch."""
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "shape3"], ["mean3"]),
        helper.make_node("Mul", ["mean3", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "detections"], [output_name]),
    ]
    init = [
        numpy_helper.from_array(np.array([-1, 1, 1], dtype=np.int64), "shape3"),
        numpy_helper.from_array(np.zeros((1,), dtype=np.float32), "zero"),
        numpy_helper.from_array(output, "detections"),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", output.shape[1], output.shape[2]])],
        init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="xray-screen fixtures")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def finish(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="xray-screen fixtures")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def conv_model() -> onnx.ModelProto:
    """A tiny random-weight detector in the yolov8 layout, [N, 7, 256]: a 4x4 stride-4 conv
    and a 1x1 conv over the 64x64 input, box rows scaled to the input, score rows biased low so
    that only a few cells pass the class thresholds."""
    rng = np.random.default_rng(7)
    w1 = rng.normal(0.0, 0.5, (8, 3, 4, 4)).astype(np.float32)
    w2 = rng.normal(0.0, 0.5, (4 + len(CLASSES), 8, 1, 1)).astype(np.float32)
    bias = np.array([0, 0, -1, -1] + [-1.0] * len(CLASSES), dtype=np.float32)
    scale = np.array([SIZE, SIZE, SIZE / 4, SIZE / 4] + [1.0] * len(CLASSES), dtype=np.float32).reshape(1, -1, 1)
    nodes = [
        helper.make_node("Conv", ["images", "w1"], ["c1"], strides=[4, 4]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]),
        helper.make_node("Sigmoid", ["c2"], ["s2"]),
        helper.make_node("Reshape", ["s2", "shape"], ["flat"]),
        helper.make_node("Mul", ["flat", "scale"], ["output0"]),
    ]
    init = [
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(w2, "w2"),
        numpy_helper.from_array(bias, "b2"),
        numpy_helper.from_array(np.array([0, 4 + len(CLASSES), -1], dtype=np.int64), "shape"),
        numpy_helper.from_array(scale, "scale"),
    ]
    graph = helper.make_graph(
        nodes,
        "conv-fixture",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 4 + len(CLASSES), 256])],
        init,
    )
    return finish(graph)


# Boxes of the colour-keyed fixture (x1, y1, x2, y2 in input pixels): pistol, cigarettes.
CUE_BOXES = [(8.0, 8.0, 24.0, 24.0), (32.0, 32.0, 56.0, 56.0)]


def cue_model() -> onnx.ModelProto:
    """yolov8 layout [N, 7, 2]: anchor 0 is a pistol box scored 0.9 x mean(red), anchor 1 a
    cigarettes box scored 0.9 x mean(green); the bag class scores 0 everywhere."""
    keys = np.zeros((1, len(CLASSES), 2), dtype=np.float32)
    keys[0, 0, 0] = 0.9  # pistol <- red
    keys[0, 1, 1] = 0.9  # cigarettes <- green
    boxes = np.array(
        [[(x1 + x2) / 2 for x1, _, x2, _ in CUE_BOXES], [(y1 + y2) / 2 for _, y1, _, y2 in CUE_BOXES],
         [x2 - x1 for x1, _, x2, _ in CUE_BOXES], [y2 - y1 for _, y1, _, y2 in CUE_BOXES]],
        dtype=np.float32,
    )[None]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["means"], axes=[2, 3], keepdims=1),
        helper.make_node("Reshape", ["means", "shape3"], ["means3"]),
        helper.make_node("Mul", ["means3", "keys"], ["scores"]),
        helper.make_node("ReduceMean", ["images"], ["all"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["all", "shape1"], ["all3"]),
        helper.make_node("Mul", ["all3", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "boxes"], ["box_rows"]),
        helper.make_node("Concat", ["box_rows", "scores"], ["output0"], axis=1),
    ]
    init = [
        numpy_helper.from_array(np.array([-1, 3, 1], dtype=np.int64), "shape3"),
        numpy_helper.from_array(np.array([-1, 1, 1], dtype=np.int64), "shape1"),
        numpy_helper.from_array(keys, "keys"),
        numpy_helper.from_array(np.zeros((1,), dtype=np.float32), "zero"),
        numpy_helper.from_array(boxes, "boxes"),
    ]
    graph = helper.make_graph(
        nodes,
        "cue-fixture",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 4 + len(CLASSES), 2])],
        init,
    )
    return finish(graph)


SLOW_MATMULS = 48


def slow_model() -> onnx.ModelProto:
    """The yolov8 fixture's constant detections behind SLOW_MATMULS products of [96, 1024] by
    [1024, 1024] per image (about 9.7 GFLOP): slow enough to keep an executor busy."""
    output = yolov8_output()
    nodes = [
        helper.make_node("Reshape", ["images", "rows"], ["x0"]),
        helper.make_node("Tile", ["x0", "repeats"], ["t0"]),
        helper.make_node("ConstantOfShape", ["wshape"], ["w"], value=numpy_helper.from_array(np.array([1.0 / 1024], dtype=np.float32))),
    ]
    previous = "t0"
    for i in range(SLOW_MATMULS):
        nodes.append(helper.make_node("MatMul", [previous, "w"], [f"m{i}"]))
        nodes.append(helper.make_node("Tanh", [f"m{i}"], [f"h{i}"]))
        previous = f"h{i}"
    nodes += [
        helper.make_node("ReduceMean", [previous], ["mean"], axes=[1, 2], keepdims=1),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "detections"], ["output0"]),
    ]
    init = [
        numpy_helper.from_array(np.array([-1, 12, 1024], dtype=np.int64), "rows"),
        numpy_helper.from_array(np.array([1, 8, 1], dtype=np.int64), "repeats"),
        numpy_helper.from_array(np.array([1024, 1024], dtype=np.int64), "wshape"),
        numpy_helper.from_array(np.zeros((1,), dtype=np.float32), "zero"),
        numpy_helper.from_array(output, "detections"),
    ]
    graph = helper.make_graph(
        nodes,
        "slow-fixture",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", output.shape[1], output.shape[2]])],
        init,
    )
    return finish(graph)


def model_toml(name: str, layout: str, output_name: str) -> str:
    classes = "\n".join(
        f'\n[[classes]]\nname = "{n}"\ncategory = "{c}"\nthreshold = {t}' for n, c, t in CLASSES
    )
    return f"""# Test fixture written by tools/make_fixtures.py: constant outputs, not a detector.
name = "{name}"
version = "fixture-1"
file = "model.onnx"
layout = "{layout}"
max_batch = 16

[input]
name = "images"
width = {SIZE}
height = {SIZE}

[output]
name = "{output_name}"

[nms]
iou = 0.5
{classes}
"""


def main() -> None:
    fixtures = [
        ("yolov8-fixture", "yolov8", yolov8_output(), "output0"),
        ("yolov5-fixture", "yolov5", yolov5_output(), "output0"),
        ("end2end-fixture", "end2end", end2end_output(), "detections_out"),
    ]
    for name, layout, output, output_name in fixtures:
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        onnx.save(constant_model(name, output, output_name), folder / "model.onnx")
        (folder / "model.toml").write_text(model_toml(name, layout, output_name))
        print(f"{folder}: output {list(output.shape)}")
    batching = [
        ("conv-fixture", conv_model(), "a random-weight convolutional net: outputs depend on the pixels", 16),
        ("slow-fixture", slow_model(), "constant outputs behind a slow chain of matrix products", 4),
    ]
    for name, model, what, max_batch in batching:
        folder = BATCHING_OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        onnx.save(model, folder / "model.onnx")
        toml = model_toml(name, "yolov8", "output0")
        toml = toml.replace("constant outputs, not a detector", what + ", not a detector")
        toml = toml.replace("max_batch = 16", f"max_batch = {max_batch}")
        (folder / "model.toml").write_text(toml)
        print(f"{folder}: {what}")
    folder = RISK_OUT / "cue-fixture"
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(cue_model(), folder / "model.onnx")
    what = "colour-keyed: pistol 0.9 x mean red, cigarettes 0.9 x mean green"
    (folder / "model.toml").write_text(
        model_toml("cue-fixture", "yolov8", "output0").replace("constant outputs, not a detector", what + ", not a detector")
    )
    (folder / "taxonomy.toml").write_text(
        "# Test fixture written by tools/make_fixtures.py: declared tobacco (HS 2402) covers cigarettes.\n"
        "[classes.cigarettes]\nhs_headings = [\"2402\"]\n"
    )
    print(f"{folder}: {what}")


if __name__ == "__main__":
    main()
