#!/usr/bin/env python3
"""Quick mAP of an ONNX detector (YOLOv8 layout `[N, 4 + C, A]`, sigmoid scores) on a
YOLO-layout folder, with onnxruntime on CPU. Letterboxes like the service (pad 114, centred),
runs class-aware NMS (IoU 0.5, or each class's overlap from `--model-toml`, which also turns on
its flip averaging), maps boxes back to the scan and scores COCO-style
(101-point interpolated AP per class): mAP@0.5 and mAP@0.5:0.95. For development checks; the
authoritative evaluation is the service's `eval` command.

    .venv-train/bin/python tools/train/evaluate.py --model runs/xsd/model.onnx --data /work/data/synth-val
    .venv-train/bin/python tools/train/evaluate.py --model runs/xsd/model.onnx --data /work/data/synth-val \
        --model-toml models/xray-detector/model.toml
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import find_split, letterbox, read_labels  # noqa: E402
from metrics import MAP, decode  # noqa: E402


def nms_ious(spec: dict) -> list[float]:
    """Each class's NMS IoU from a parsed model.toml, as the service reads it: the class's
    `nms_iou`, else `[nms] iou`, else 0.5."""
    default = spec.get("nms", {}).get("iou", 0.5)
    return [c.get("nms_iou", default) for c in spec["classes"]]


def flip_strides(spec: dict) -> list[int] | None:
    """The anchor-grid strides when a parsed model.toml asks for flip averaging
    (`[output] flip_average`, strides default 8, 16, 32), else None."""
    out = spec.get("output", {})
    return list(out.get("strides", [8, 16, 32])) if out.get("flip_average") else None


def flip_average(plain: np.ndarray, mirrored: np.ndarray, size: int, strides: list[int]) -> np.ndarray:
    """The service's flip averaging: outputs `[N, 4 + C, A]` of images and of their left-right
    mirrors, averaged anchor by anchor, each mirrored anchor taken from its mirror position on
    its grid and its centre x reflected (`size - cx`)."""
    parts, off = [], 0
    for s in strides:
        g = size // s
        q = mirrored[:, :, off:off + g * g].reshape(mirrored.shape[0], mirrored.shape[1], g, g)[:, :, :, ::-1]
        parts.append(q.reshape(mirrored.shape[0], mirrored.shape[1], g * g))
        off += g * g
    if off != plain.shape[2]:
        raise SystemExit(f"flip averaging: strides {strides} at {size} give {off} anchors, the model {plain.shape[2]}")
    back = np.concatenate(parts, 2)
    back[:, 0] = size - back[:, 0]
    return (plain + back) / 2


def open_session(model_path, threads: int = 0):
    """An onnxruntime CPU session on the ONNX file (`threads` intra-op threads, 0: its default)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    return ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])


def predictions(sess, paths, size, batch=8, conf=0.001, iou=0.5, timer=None, flip=None):
    """Runs the model over `paths` as the service would (letterbox, flip averaging at the grid
    strides `flip` when given, class-aware NMS, boxes back in the scan's pixels) and yields, per
    image, (boxes, scores, classes, label boxes, label classes). `timer[0]`, when given,
    accumulates the seconds spent in the model."""
    inp = sess.get_inputs()[0]
    for s in tqdm(range(0, len(paths), batch), desc="infer", unit="batch"):
        chunk = paths[s:s + batch]
        xs, metas = [], []
        for p in chunk:
            with Image.open(p) as im:
                arr, meta = letterbox(im, size)
                metas.append((meta, im.size))
            xs.append(arr)
        x = np.stack(xs).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        t = time.time()
        pred = sess.run(None, {inp.name: x})[0]
        if flip:
            mirrored = sess.run(None, {inp.name: np.ascontiguousarray(x[:, :, :, ::-1])})[0]
            pred = flip_average(pred, mirrored, size, flip)
        if timer is not None:
            timer[0] += time.time() - t
        for k, p in enumerate(chunk):
            (scale, _nw, _nh, left, top), (w, h) = metas[k]
            boxes, scores, classes = decode(pred[k], conf, iou)
            boxes = np.clip((boxes - np.array([left, top, left, top], np.float32)) / scale, 0, [w, h, w, h])
            lab = read_labels(Path(p))
            gt = np.zeros((len(lab), 4), np.float32)
            if len(lab):
                gt = np.stack([(lab[:, 1] - lab[:, 3] / 2) * w, (lab[:, 2] - lab[:, 4] / 2) * h,
                               (lab[:, 1] + lab[:, 3] / 2) * w, (lab[:, 2] + lab[:, 4] / 2) * h], 1)
            yield boxes, scores, classes, gt, lab[:, 0].astype(np.int64) if len(lab) else np.zeros(0, np.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="ONNX file")
    ap.add_argument("--data", required=True, help="folder with images/ + labels/, or with data.yaml")
    ap.add_argument("--split", default="val", help="split to use with data.yaml")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--conf", type=float, default=0.001, help="score threshold before NMS")
    ap.add_argument("--iou", type=float, default=0.5, help="NMS IoU for every class")
    ap.add_argument("--model-toml", help="take each class's NMS IoU from this model.toml (its `nms_iou`, "
                    "else `[nms] iou`), as the service does; replaces --iou")
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N images")
    ap.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0: default)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    sess = open_session(args.model, args.threads)
    inp = sess.get_inputs()[0]
    size = int(inp.shape[2]) if isinstance(inp.shape[2], int) else 416
    out_shape = sess.get_outputs()[0].shape
    paths, names = find_split(args.data, args.split)
    if args.limit:
        paths = paths[: args.limit]
    nc = len(names)
    if isinstance(out_shape[1], int) and out_shape[1] - 4 != nc:
        print(f"warning: model has {out_shape[1] - 4} classes, data set names {nc}", file=sys.stderr)
        nc = out_shape[1] - 4
        names = names[:nc] + [f"class{i}" for i in range(len(names), nc)]
    iou, flip = args.iou, None
    if args.model_toml:
        try:
            spec = tomllib.loads(Path(args.model_toml).read_text())
            iou, flip = nms_ious(spec), flip_strides(spec)
        except (OSError, tomllib.TOMLDecodeError, KeyError) as e:
            sys.exit(f"cannot read NMS overlaps from {args.model_toml}: {e}")
        if len(iou) != nc:
            sys.exit(f"{args.model_toml} names {len(iou)} classes, the model has {nc}")
    acc = MAP(nc)
    timer = [0.0]
    for boxes, scores, classes, gt, gt_classes in predictions(sess, paths, size, args.batch, args.conf, iou, timer, flip):
        acc.add(boxes, scores, classes, gt, gt_classes)
    t_model = timer[0]
    m50, m5095, ap50, ap5095 = acc.compute()
    print(f"{len(paths)} images, model time {t_model:.1f} s ({len(paths) / max(t_model, 1e-9):.1f} img/s)")
    print(f"{'class':<16}{'gt':>6}{'AP@0.5':>10}{'AP@.5:.95':>11}")
    for c in range(nc):
        a50 = "-" if np.isnan(ap50[c]) else f"{ap50[c]:.3f}"
        a = "-" if np.isnan(ap5095[c]) else f"{ap5095[c]:.3f}"
        print(f"{names[c]:<16}{acc.n_gt[c]:>6}{a50:>10}{a:>11}")
    print(f"mAP@0.5 {m50:.4f}   mAP@0.5:0.95 {m5095:.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "images": len(paths), "map50": m50, "map50_95": m5095,
            "per_class": {names[c]: {"gt": int(acc.n_gt[c]), "ap50": None if np.isnan(ap50[c]) else float(ap50[c]),
                                     "ap50_95": None if np.isnan(ap5095[c]) else float(ap5095[c])} for c in range(nc)},
        }, indent=1))


if __name__ == "__main__":
    main()
