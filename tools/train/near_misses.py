#!/usr/bin/env python3
"""Why labelled objects are missed: for every labelled object, the model's best candidate of
the same class (any score over --conf), sorted into

  found       a candidate with IoU >= 0.5 scores at or over the class threshold
  low score   a candidate with IoU >= 0.5 exists, but under the threshold
  loose box   the best same-class candidate overlaps, but with IoU under 0.5
  no box      no same-class candidate overlaps it at all

per class, with the median IoU of the best candidate and the median of the best score at
IoU >= 0.5. Thresholds come from the model's model.toml. Runs like evaluate.py (onnxruntime on
CPU, letterboxed as the service does, class-aware NMS at each class's IoU from model.toml).

    .venv-train/bin/python tools/train/near_misses.py --model models/xray-detector --data data/synth-val
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import find_split  # noqa: E402
from evaluate import flip_strides, nms_ious, open_session, predictions  # noqa: E402
from metrics import iou_matrix  # noqa: E402

KINDS = ("found", "low score", "loose box", "no box")


def sort_object(gt_box, cls, boxes, scores, classes, threshold):
    """(kind, best IoU, best score at IoU >= 0.5) of one labelled object."""
    same = classes == cls
    if not same.any():
        return "no box", 0.0, 0.0
    ious = iou_matrix(gt_box[None], boxes[same])[0]
    best_iou = float(ious.max())
    hit = ious >= 0.5
    score = float(scores[same][hit].max()) if hit.any() else 0.0
    if hit.any():
        return ("found" if score >= threshold else "low score"), best_iou, score
    return ("loose box" if best_iou > 0 else "no box"), best_iou, score


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model folder (model.toml + its ONNX file)")
    ap.add_argument("--data", required=True, help="folder with images/ + labels/, or with data.yaml")
    ap.add_argument("--split", default="val", help="split to use with data.yaml")
    ap.add_argument("--conf", type=float, default=0.05, help="candidates under this score are ignored")
    ap.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0: default)")
    args = ap.parse_args()

    folder = Path(args.model)
    spec = tomllib.loads((folder / "model.toml").read_text())
    names = [c["name"] for c in spec["classes"]]
    thresholds = np.array([c["threshold"] for c in spec["classes"]], np.float32)
    sess = open_session(folder / spec["file"], args.threads)
    paths, data_names = find_split(args.data, args.split)
    if data_names != names:
        raise SystemExit(f"the data set's classes {data_names} are not the model's {names}")

    rows = [[] for _ in names]
    for boxes, scores, classes, gt, gt_classes in predictions(sess, paths, spec["input"]["width"], conf=args.conf,
                                                                   iou=nms_ious(spec), flip=flip_strides(spec)):
        for g, c in zip(gt, gt_classes):
            rows[c].append(sort_object(g, c, boxes, scores, classes, thresholds[c]))

    print(f"\n{len(paths)} scans; best same-class candidate of each labelled object (scores over {args.conf})")
    print(f"{'class':<14}{'objects':>8}" + "".join(f"{k:>11}" for k in KINDS) + f"{'IoU med':>9}{'score med':>11}")
    for c, r in enumerate(rows):
        if not r:
            continue
        kinds = [k for k, _, _ in r]
        ious = np.array([i for _, i, _ in r])
        hit_scores = np.array([s for _, i, s in r if i >= 0.5])
        med_score = f"{np.median(hit_scores):.2f}" if len(hit_scores) else "-"
        print(f"{names[c]:<14}{len(r):>8}" + "".join(f"{kinds.count(k) / len(r):>11.2f}" for k in KINDS)
              + f"{np.median(ious):>9.2f}{med_score:>11}")


if __name__ == "__main__":
    main()
