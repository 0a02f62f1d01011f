"""Decoding of the YOLOv8-layout output, class-aware NMS, and COCO-style mAP (101-point
interpolated AP per class, mAP@0.5 and mAP@0.5:0.95). numpy only."""

from __future__ import annotations

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between a [N, 4] and b [M, 4] (x1, y1, x2, y2)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    aa = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    ab = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    return inter / (aa[:, None] + ab[None, :] - inter + 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        ious = iou_matrix(boxes[i:i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou]
    return np.array(keep, dtype=np.int64)


def decode(pred: np.ndarray, conf: float = 0.001, iou=0.5, max_det: int = 300):
    """One image's output [4 + C, A] -> (boxes xyxy [K, 4], scores [K], classes [K]) after
    class-aware NMS, in input pixels. `iou` is one NMS threshold or one per class (model.toml's
    `nms_iou`: goods packed in quantity overlap more than one object's duplicate boxes)."""
    p = pred.T
    boxes_cxcywh, scores = p[:, :4], p[:, 4:]
    per_class = np.broadcast_to(np.asarray(iou, np.float64), (scores.shape[1],))
    cand_a, cand_c = np.nonzero(scores > conf)
    if cand_a.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    sc = scores[cand_a, cand_c]
    # keep the top candidates only (speed)
    if sc.size > 3000:
        top = np.argpartition(-sc, 3000)[:3000]
        cand_a, cand_c, sc = cand_a[top], cand_c[top], sc[top]
    b = boxes_cxcywh[cand_a]
    xyxy = np.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], 1)
    kept = []
    for c in np.unique(cand_c):
        idx = np.nonzero(cand_c == c)[0]
        kept.append(idx[nms(xyxy[idx], sc[idx], float(per_class[c]))])
    keep = np.concatenate(kept)
    keep = keep[np.argsort(-sc[keep], kind="stable")][:max_det]
    return xyxy[keep].astype(np.float32), sc[keep].astype(np.float32), cand_c[keep].astype(np.int64)


class MAP:
    """Accumulates detections and ground truth per image; `compute` gives per-class AP."""

    def __init__(self, num_classes: int):
        self.nc = num_classes
        self.records = []  # (score, class, tp[10])
        self.n_gt = np.zeros(num_classes, np.int64)

    def add(self, boxes, scores, classes, gt_boxes, gt_classes):
        for c in np.unique(gt_classes):
            self.n_gt[c] += int((gt_classes == c).sum())
        if len(boxes) == 0:
            return
        order = np.argsort(-scores, kind="stable")
        boxes, scores, classes = boxes[order], scores[order], classes[order]
        tp = np.zeros((len(boxes), len(IOU_THRESHOLDS)), bool)
        for c in np.unique(classes):
            di = np.nonzero(classes == c)[0]
            gi = np.nonzero(gt_classes == c)[0]
            if gi.size == 0:
                continue
            ious = iou_matrix(boxes[di], gt_boxes[gi])
            for t, thr in enumerate(IOU_THRESHOLDS):
                used = np.zeros(gi.size, bool)
                for r, d in enumerate(di):  # greedy by score, COCO-style
                    cand = np.where(used, -1.0, ious[r])
                    j = int(np.argmax(cand))
                    if cand[j] >= thr:
                        used[j] = True
                        tp[d, t] = True
        for k in range(len(boxes)):
            self.records.append((float(scores[k]), int(classes[k]), tp[k]))

    def compute(self):
        """(mAP@0.5, mAP@0.5:0.95, per-class AP@0.5 [C], per-class AP@0.5:0.95 [C]); classes
        with no ground truth are NaN and left out of the means."""
        ap = np.full((self.nc, len(IOU_THRESHOLDS)), np.nan)
        if self.records:
            scores = np.array([r[0] for r in self.records])
            classes = np.array([r[1] for r in self.records])
            tps = np.stack([r[2] for r in self.records])
        else:
            scores = np.zeros(0)
            classes = np.zeros(0, np.int64)
            tps = np.zeros((0, len(IOU_THRESHOLDS)), bool)
        recall_pts = np.linspace(0, 1, 101)
        for c in range(self.nc):
            if self.n_gt[c] == 0:
                continue
            sel = classes == c
            order = np.argsort(-scores[sel], kind="stable")
            tp_c = tps[sel][order]
            for t in range(len(IOU_THRESHOLDS)):
                tpc = np.cumsum(tp_c[:, t])
                fpc = np.cumsum(~tp_c[:, t])
                recall = tpc / self.n_gt[c]
                precision = tpc / np.maximum(tpc + fpc, 1e-9)
                # precision envelope, then sample at 101 recall points
                prec = np.maximum.accumulate(np.concatenate([precision, [0.0]])[::-1])[::-1]
                idx = np.searchsorted(recall, recall_pts, side="left")
                q = np.where(idx < len(recall), prec[np.minimum(idx, len(prec) - 1)], 0.0)
                ap[c, t] = q.mean()
        ap50 = ap[:, 0]
        ap5095 = ap.mean(1)
        valid = ~np.isnan(ap50)
        m50 = float(ap50[valid].mean()) if valid.any() else 0.0
        m5095 = float(ap5095[valid].mean()) if valid.any() else 0.0
        return m50, m5095, ap50, ap5095
