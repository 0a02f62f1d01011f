"""Label assignment and losses.

Assignment is task-aligned (after TOOD, Feng et al. 2021): for each ground-truth box, among
the locations whose centre lies inside it (grown to at least 8x8 px), the `topk` with the
highest alignment `score(class) ** alpha * IoU(pred, gt) ** beta` are positives; a location claimed by several
boxes keeps the one it overlaps best. Class targets are soft: the alignment, normalised so
that each box's best location gets that box's best IoU (an IoU-aware score). Losses:
varifocal-style BCE for classes (negatives down-weighted by `p ** gamma`), GIoU for boxes
weighted by the soft target. Both are normalised by the sum of soft targets in the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from model import TrainOutput


def box_iou_pairwise(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """IoU of a[..., 4] and b[..., 4] (x1, y1, x2, y2) element-wise with broadcasting."""
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a + area_b - inter + eps)


def giou_loss(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    union = area_a + area_b - inter + eps
    iou = inter / union
    elt = torch.minimum(a[..., :2], b[..., :2])
    erb = torch.maximum(a[..., 2:], b[..., 2:])
    enclose = (erb - elt).clamp(min=0).prod(-1) + eps
    return 1.0 - (iou - (enclose - union) / enclose)


class DetectionLoss:
    def __init__(self, num_classes: int, topk: int = 10, alpha: float = 1.0, beta: float = 6.0,
                 cls_weight: float = 1.0, box_weight: float = 2.5, vfl_alpha: float = 0.75, vfl_gamma: float = 2.0):
        self.nc = num_classes
        self.topk = topk
        self.alpha = alpha
        self.beta = beta
        self.cls_weight = cls_weight
        self.box_weight = box_weight
        self.vfl_alpha = vfl_alpha
        self.vfl_gamma = vfl_gamma

    @torch.no_grad()
    def assign(self, scores: torch.Tensor, boxes: torch.Tensor, points: torch.Tensor,
               gt_cls: torch.Tensor, gt_box: torch.Tensor, gt_mask: torch.Tensor):
        """scores [N, A, C] (sigmoid), boxes [N, A, 4] xyxy predicted, points [A, 2],
        gt_cls [N, M] long, gt_box [N, M, 4] xyxy, gt_mask [N, M] bool (padding).
        Returns target_cls [N, A, C] soft targets, target_box [N, A, 4], fg [N, A] bool."""
        n, a, c = scores.shape
        m = gt_box.shape[1]
        if m == 0:
            return (torch.zeros_like(scores), torch.zeros_like(boxes), torch.zeros(n, a, dtype=torch.bool, device=scores.device))
        # inside-box prior [N, M, A]
        px = points[:, 0].view(1, 1, a)
        py = points[:, 1].view(1, 1, a)
        x1, y1, x2, y2 = (gt_box[..., i].unsqueeze(-1) for i in range(4))
        cx = (x1 + x2) * 0.5
        cy = (y1 + y2) * 0.5
        # candidate region: the box, grown to at least 8x8 px so that a box smaller than the
        # finest stride still contains a location
        hw = ((x2 - x1) * 0.5).clamp(min=4.0)
        hh = ((y2 - y1) * 0.5).clamp(min=4.0)
        inside = ((px - cx).abs() < hw) & ((py - cy).abs() < hh) & gt_mask.unsqueeze(-1)
        # IoU of every prediction with every gt [N, M, A]
        ious = box_iou_pairwise(gt_box.unsqueeze(2), boxes.unsqueeze(1)).clamp(min=0)
        cls_idx = gt_cls.clamp(min=0).unsqueeze(-1).expand(n, m, a)
        s = scores.transpose(1, 2).gather(1, cls_idx)  # [N, M, A] score of each gt's class
        metric = s.pow(self.alpha) * ious.pow(self.beta)
        metric = torch.where(inside, metric, torch.zeros_like(metric))
        k = min(self.topk, a)
        # tiny tie-breaker so that early on (all metrics ~0) locations near the centre win
        dist = ((px - cx) ** 2 + (py - cy) ** 2).sqrt()
        ranked = metric + inside.float() * 1e-9 / (1.0 + dist)
        top_val, top_idx = ranked.topk(k, dim=-1)
        cand = torch.zeros_like(metric).scatter_(-1, top_idx, 1.0).bool() & inside
        # resolve locations claimed by several gts: keep the best IoU
        multi = cand.sum(1) > 1  # [N, A]
        if multi.any():
            best = torch.where(cand, ious, torch.full_like(ious, -1.0)).argmax(1)  # [N, A]
            best_onehot = F.one_hot(best, m).transpose(1, 2).bool()
            cand = torch.where(multi.unsqueeze(1), best_onehot & cand, cand)
        fg = cand.any(1)  # [N, A]
        gt_of = cand.float().argmax(1)  # [N, A]
        # normalised alignment
        metric = metric * cand
        max_metric = metric.amax(-1, keepdim=True)
        max_iou = (ious * cand).amax(-1, keepdim=True)
        norm = (metric * max_iou / (max_metric + 1e-9)).amax(1)  # [N, A]
        tcls = gt_cls.gather(1, gt_of).clamp(min=0)
        target_cls = F.one_hot(tcls, c).float() * (norm * fg).unsqueeze(-1)
        target_box = gt_box.gather(1, gt_of.unsqueeze(-1).expand(n, a, 4))
        return target_cls, target_box, fg

    def __call__(self, out: TrainOutput, gt_cls, gt_box, gt_mask):
        logits = out.cls.float()
        dist = out.dist.float()
        pts = out.points.unsqueeze(0)
        boxes = torch.cat([pts - dist[..., :2], pts + dist[..., 2:]], -1)
        scores = logits.sigmoid()
        target_cls, target_box, fg = self.assign(scores.detach(), boxes.detach(), out.points, gt_cls, gt_box, gt_mask)
        norm = target_cls.sum().clamp(min=1.0)
        # varifocal-style BCE
        weight = self.vfl_alpha * scores.detach().pow(self.vfl_gamma) * (target_cls <= 0) + target_cls
        # positives with target weight: use max(target, small) so that low-IoU positives still learn
        bce = F.binary_cross_entropy_with_logits(logits, target_cls, reduction="none")
        loss_cls = (bce * weight).sum() / norm
        if fg.any():
            w = target_cls.sum(-1)[fg]
            loss_box = (giou_loss(boxes[fg], target_box[fg]) * w).sum() / norm
        else:
            loss_box = boxes.sum() * 0.0
        total = self.cls_weight * loss_cls + self.box_weight * loss_box
        return total, {"cls": loss_cls.detach().item(), "box": loss_box.detach().item()}
