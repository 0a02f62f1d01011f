#!/usr/bin/env python3
"""Measures how much an exported model's quick val mAP moves when only BatchNorm's running
statistics follow augmented training batches, with no learning at all: the part of a
fine-tuning stage's first-epoch dip that `--init`'s BatchNorm calibration causes.

For each calibration kind (clean: the first N letterboxed training scans, as train.py did up
to model 0.6.0; augmented: N augmented training samples, as it does now) it loads the export
with that calibration, takes the quick val mAP, re-estimates every running mean and variance
in training mode on other augmented samples (a cumulative average, as BatchNorm's momentum
would reach after about 100 steps), and takes the quick val mAP again.

    .venv-train/bin/python tools/train/bn_drift.py --model models/xray-detector/model.onnx \\
        --data data/synth-train --val data/synth-val
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import Augmenter, Preloaded, TrainSet, find_split, image_batch  # noqa: E402
from init_onnx import load_onnx_weights  # noqa: E402
from model import Detector  # noqa: E402
from train import quick_val  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="an export of this detector (model.onnx)")
    ap.add_argument("--data", required=True, help="training set folder")
    ap.add_argument("--val", required=True, help="validation set folder")
    ap.add_argument("--calib", type=int, default=256, help="calibration samples")
    ap.add_argument("--drift", type=int, default=320, help="augmented samples the running stats are re-estimated on")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--imgsz", type=int, default=416)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    paths, names = find_split(a.data, "train")
    # Calibration and drift samples are different scans.
    n = a.calib + a.drift
    if len(paths) < n:
        raise SystemExit(f"{a.data}: {len(paths)} images, need {n}")
    cache = int(round(a.imgsz * 1.25 / 32)) * 32
    train = Preloaded(paths[:n], cache, 2, "preload train")
    val = Preloaded(find_split(a.val, "val")[0], a.imgsz, 2, "preload val")
    samples = TrainSet(train, Augmenter(a.imgsz), a.seed)
    cpu = torch.device("cpu")
    results = []
    for kind in ("clean", "augmented"):
        if kind == "clean":
            # Clean scans at the preload size, exactly what train.py calibrated on before.
            calib = image_batch(train.images[: a.calib])
        else:
            calib = image_batch([samples[i][0] for i in range(a.calib)])
        model = Detector(len(names), a.width, a.depth)
        load_onnx_weights(model, a.model, calib)
        before = quick_val(model, val, names, 16, 0, cpu)[0]
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the drift batches
        model.train()
        with torch.no_grad():
            for s in tqdm(range(a.calib, n, 16), desc=f"{kind}: drift", unit="batch"):
                model(image_batch([samples[i][0] for i in range(s, min(n, s + 16))]))
        after = quick_val(model, val, names, 16, 0, cpu)[0]
        results.append((kind, before, after))
    print(f"quick val mAP@0.5 of {a.model}: calibrated on {a.calib} samples, then running stats "
          f"re-estimated on {a.drift} other augmented samples (no learning)")
    for kind, before, after in results:
        print(f"  {kind:9s} calibration: {before:.3f} -> {after:.3f}")


if __name__ == "__main__":
    main()
