"""Starts training from an exported model.onnx (the shipped default, or any export of this
detector) instead of from random weights: fine-tuning on new data, or continuing training
when the checkpoint is gone.

The export folds every BatchNorm into its convolution, so each ONNX Conv holds a weight W'
and a bias b'. Loading W' into the conv and (gamma=1, beta=b', mean=0, var=1-eps) into the
BatchNorm reproduces the export exactly in eval mode, but in training mode BatchNorm
normalises with batch statistics and would rescale every channel. So the loader measures the
real per-channel mean m and variance v of W'x on calibration images and sets running stats
(m, v), gamma = sqrt(v + eps), beta = b' + m: the same function in eval mode, and close to it
in training mode from the first step. The calibration images must be augmented training
samples (train.py passes them): BatchNorm's running stats follow the training batches, and
calibrated on clean scans they drift away from (m, v) and change the function in eval mode.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn


def _run_hooked(model: nn.Module, hooks: dict[nn.Module, object], images: torch.Tensor) -> None:
    """Runs `images` through the export-mode forward (the function the ONNX file holds) with
    forward hooks on the given modules, in batches of 8, then removes the hooks."""
    handles = [m.register_forward_hook(h) for m, h in hooks.items()]
    model.eval()
    model.export = True
    try:
        with torch.no_grad():
            for s in range(0, images.shape[0], 8):
                model(images[s:s + 8])
    finally:
        model.export = False
        for h in handles:
            h.remove()


def _conv_call_order(model: nn.Module, size: int) -> list[str]:
    """Names of the model's Conv2d modules in the order the forward pass calls them (the
    order the exporter writes them in)."""
    names = {m: n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    order: list[str] = []
    _run_hooked(model, {m: (lambda mod, i, o: order.append(names[mod])) for m in names},
                torch.zeros(1, 3, size, size))
    return order


def _onnx_convs(path: str) -> list[tuple[np.ndarray, np.ndarray | None]]:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = []
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        if node.input[1] not in inits:
            raise SystemExit(f"{path}: Conv {node.name} has a weight that is not a constant")
        bias = inits.get(node.input[2]) if len(node.input) > 2 else None
        convs.append((inits[node.input[1]], bias))
    return convs


def load_onnx_weights(model: nn.Module, path: str, calib: torch.Tensor) -> None:
    """Copies the weights of the export at `path` into `model` (same architecture, width,
    depth and class count), calibrating BatchNorm statistics on `calib` ([N, 3, S, S], 0..1)."""
    size = calib.shape[-1]
    order = _conv_call_order(model, size)
    convs = _onnx_convs(path)
    if len(convs) != len(order):
        raise SystemExit(f"{path} has {len(convs)} convolutions, the model {len(order)}: "
                         "not an export of this architecture at this --width/--depth")
    modules = dict(model.named_modules())
    bns: dict[str, nn.BatchNorm2d] = {}
    with torch.no_grad():
        for name, (w, b) in zip(order, convs):
            conv = modules[name]
            if tuple(conv.weight.shape) != w.shape:
                raise SystemExit(f"{path}: {name} is {w.shape} there, {tuple(conv.weight.shape)} here "
                                 "(different --width, --depth or class count?)")
            conv.weight.copy_(torch.tensor(np.array(w)))
            parent = name.rsplit(".", 1)[0] if "." in name else ""
            bn = getattr(modules.get(parent), "bn", None) if name.endswith(".conv") else None
            bias = torch.tensor(np.array(b)) if b is not None else torch.zeros(w.shape[0])
            if isinstance(bn, nn.BatchNorm2d):
                bn.weight.fill_(1.0)
                bn.bias.copy_(bias)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
                bns[name] = bn
            elif conv.bias is not None:
                conv.bias.copy_(bias)
            elif b is not None:
                raise SystemExit(f"{path}: {name} has a bias there and no bias or BatchNorm here")

    # The model now computes exactly what the export does (eval mode); measure each folded
    # conv's output statistics on the calibration images through that same function.
    sums: dict[str, list] = {n: [0.0, 0.0, 0] for n in bns}

    def accumulate(n):
        def hook(mod, inp, out):
            o = out.detach().double()
            s = sums[n]
            s[0] = s[0] + o.sum(dim=(0, 2, 3))
            s[1] = s[1] + (o * o).sum(dim=(0, 2, 3))
            s[2] += o.numel() // o.shape[1]
        return hook

    _run_hooked(model, {modules[n]: accumulate(n) for n in bns}, calib)
    with torch.no_grad():
        for n, bn in bns.items():
            total, sq, count = sums[n]
            mean = total / count
            var = (sq / count - mean * mean).clamp_min(1e-6)
            bias = bn.bias.detach().double().clone()
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(var.float())
            bn.weight.copy_(torch.sqrt(var + bn.eps).float())
            bn.bias.copy_((bias + mean).float())


def onnx_class_count(path: str) -> int:
    """The number of classes of an export: its output is `[N, 4 + C, A]` (C is symbolic in
    the graph, so one pass of onnxruntime on a blank image measures it)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    size = [d if isinstance(d, int) else 1 for d in inp.shape]
    out = sess.run(None, {inp.name: np.zeros(size, np.float32)})[0]
    if out.ndim != 3 or out.shape[1] <= 4:
        raise SystemExit(f"{path}: output {list(out.shape)} is not [N, 4 + C, A]")
    return int(out.shape[1]) - 4


def transplant_classes(src: nn.Module, dst: nn.Module, class_map: list[int]) -> None:
    """Copies `src` into `dst`, the same detector with other classes: every weight but the
    class predictors is copied as it is; class k of `dst` gets the predictor row of `src`'s
    class `class_map[k]`, or keeps its fresh initialisation (a low prior score) where that
    is -1."""
    src_state = src.state_dict()
    n_src = src.num_classes
    if any(c >= n_src for c in class_map):
        raise SystemExit(f"--init-classes: the export has {n_src} classes, not {max(class_map) + 1}")
    with torch.no_grad():
        for key, target in dst.state_dict().items():
            value = src_state[key]
            if ".cls." in key and value.shape[0] == n_src and target.shape[0] == len(class_map):
                for k, c in enumerate(class_map):
                    if c >= 0:
                        target[k].copy_(value[c])
            elif target.shape == value.shape:
                target.copy_(value)
            else:
                raise SystemExit(f"{key}: {tuple(value.shape)} in the export, {tuple(target.shape)} here")
