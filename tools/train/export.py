#!/usr/bin/env python3
"""ONNX export of the detector and a check that onnxruntime agrees with PyTorch.

Input `images` [N, 3, S, S] float RGB 0..1 (dynamic N); output `output0` [N, 4 + C, A]:
rows cx, cy, w, h in input pixels, then C sigmoid class scores (YOLOv8 layout, no NMS).

    python tools/train/export.py --ckpt runs/x/last.pt --out runs/x/model.onnx
"""

from __future__ import annotations

import argparse
import copy
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Detector  # noqa: E402


def export_onnx(model: torch.nn.Module, path: Path, imgsz: int, opset: int = 17) -> None:
    m = copy.deepcopy(model).cpu().float().eval().to(memory_format=torch.contiguous_format)
    m.export = True
    dummy = torch.zeros(1, 3, imgsz, imgsz)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            m, (dummy,), str(path), opset_version=opset, input_names=["images"], output_names=["output0"],
            dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}}, do_constant_folding=True, dynamo=False,
        )
    import onnx

    onnx.checker.check_model(onnx.load(str(path)))


def verify_onnx(model: torch.nn.Module, path: Path, imgsz: int, batch: int = 2, seed: int = 0) -> float:
    """Runs random inputs through PyTorch and onnxruntime; returns the max abs difference
    (raises if over 1e-3 relative to the box scale)."""
    import onnxruntime as ort

    m = copy.deepcopy(model).cpu().float().eval().to(memory_format=torch.contiguous_format)
    m.export = True
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, imgsz, imgsz, generator=g)
    with torch.no_grad():
        ref = m(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(["output0"], {"images": x.numpy()})[0]
    if got.shape != ref.shape:
        raise RuntimeError(f"onnx output shape {got.shape} != torch {ref.shape}")
    diff_box = float(np.abs(got[:, :4] - ref[:, :4]).max())
    diff_cls = float(np.abs(got[:, 4:] - ref[:, 4:]).max())
    if diff_box > 1e-2 or diff_cls > 1e-4:
        raise RuntimeError(f"onnx vs torch mismatch: boxes {diff_box:.2e} px, scores {diff_cls:.2e}")
    return max(diff_box, diff_cls)


def load_checkpoint_model(ckpt_path: str, use_ema: bool = True):
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    a = ck["args"]
    model = Detector(len(ck["names"]), a["width"], a.get("depth", 1))
    model.load_state_dict(ck["ema"] if use_ema and ck.get("ema") is not None else ck["model"])
    return model, a, ck["names"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-ema", action="store_true", help="export the raw weights instead of the EMA")
    args = ap.parse_args()
    model, a, names = load_checkpoint_model(args.ckpt, not args.no_ema)
    out = Path(args.out)
    export_onnx(model, out, a["imgsz"])
    d = verify_onnx(model, out, a["imgsz"])
    print(f"wrote {out} ({len(names)} classes, input {a['imgsz']}); onnxruntime vs torch max diff {d:.2e}")


if __name__ == "__main__":
    main()
