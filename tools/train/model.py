"""The project's own small single-stage anchor-free detector ("xsd": X-ray screening detector).

Backbone: conv-BN-SiLU stages with CSP-lite residual blocks (widths 16-32-64-128-192) and a
small SPPF; neck: a light FPN/PAN; heads at strides 8, 16 and 32. Every location of a level
predicts per-class logits and a box as distances (left, top, right, bottom) from the
location's centre, `softplus(raw) * stride`, in input pixels.

`Detector.forward` returns raw per-level tensors for training (see `TrainOutput`); in export
mode (`model.export = True`) it returns one tensor `[N, 4 + C, A]` in the YOLOv8 layout: rows
cx, cy, w, h in input pixels, then C sigmoid class scores.

Written from scratch for this project (no third-party detector code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDES = (8, 16, 32)


class ConvBN(nn.Module):
    """Conv2d + BatchNorm + SiLU."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, s: int = 1, groups: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU(inplace=True) if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Residual(nn.Module):
    """Two 3x3 convs with a skip connection."""

    def __init__(self, c: int):
        super().__init__()
        self.a = ConvBN(c, c, 3)
        self.b = ConvBN(c, c, 3)

    def forward(self, x):
        return x + self.b(self.a(x))


class CSP(nn.Module):
    """CSP-lite: split into two halves, run `n` residual blocks on one, concatenate every
    intermediate output, fuse with a 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, n: int = 1):
        super().__init__()
        h = c_out // 2
        self.split = ConvBN(c_in, 2 * h, 1)
        self.blocks = nn.ModuleList(Residual(h) for _ in range(n))
        self.fuse = ConvBN((2 + n) * h, c_out, 1)

    def forward(self, x):
        a, b = self.split(x).chunk(2, dim=1)
        outs = [a, b]
        for blk in self.blocks:
            b = blk(b)
            outs.append(b)
        return self.fuse(torch.cat(outs, dim=1))


class SPPF(nn.Module):
    """Spatial pyramid pooling (three chained 5x5 max-pools)."""

    def __init__(self, c: int):
        super().__init__()
        h = c // 2
        self.reduce = ConvBN(c, h, 1)
        self.pool = nn.MaxPool2d(5, 1, 2)
        self.fuse = ConvBN(4 * h, c, 1)

    def forward(self, x):
        x = self.reduce(x)
        p1 = self.pool(x)
        p2 = self.pool(p1)
        p3 = self.pool(p2)
        return self.fuse(torch.cat([x, p1, p2, p3], dim=1))


class Head(nn.Module):
    """One level's decoupled head: a shared 3x3 conv, then a depthwise-separable conv per
    branch, then 1x1 predictors (C class logits, 4 box distances)."""

    def __init__(self, c_in: int, c_mid: int, num_classes: int, stride: int):
        super().__init__()
        self.stem = ConvBN(c_in, c_mid, 3)
        self.cls_branch = nn.Sequential(ConvBN(c_mid, c_mid, 3, groups=c_mid), ConvBN(c_mid, c_mid, 1))
        self.reg_branch = nn.Sequential(ConvBN(c_mid, c_mid, 3, groups=c_mid), ConvBN(c_mid, c_mid, 1))
        self.cls = nn.Conv2d(c_mid, num_classes, 1)
        self.reg = nn.Conv2d(c_mid, 4, 1)
        # Prior 0.01 for every class; boxes start at ~2 strides from the centre each side.
        nn.init.constant_(self.cls.bias, -math.log((1 - 0.01) / 0.01))
        nn.init.normal_(self.cls.weight, std=0.01)
        nn.init.constant_(self.reg.bias, math.log(math.e**2.0 - 1))  # softplus^-1(2)
        nn.init.normal_(self.reg.weight, std=0.01)
        self.stride = stride

    def forward(self, x):
        x = self.stem(x)
        return self.cls(self.cls_branch(x)), self.reg(self.reg_branch(x))


@dataclass
class TrainOutput:
    """Raw predictions, flattened over levels: `cls` [N, A, C] logits, `dist` [N, A, 4]
    (l, t, r, b) in input pixels, `points` [A, 2] location centres in input pixels,
    `strides` [A]."""

    cls: torch.Tensor
    dist: torch.Tensor
    points: torch.Tensor
    strides: torch.Tensor


def make_points(sizes, strides, device=None, dtype=torch.float32):
    pts, st = [], []
    for (h, w), s in zip(sizes, strides):
        ys, xs = torch.meshgrid(
            torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype), indexing="ij"
        )
        p = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
        pts.append((p + 0.5) * s)
        st.append(torch.full((h * w,), float(s), device=device, dtype=dtype))
    return torch.cat(pts), torch.cat(st)


class Detector(nn.Module):
    """The whole detector. `width` scales every channel count (1.0: 16-32-64-128-192)."""

    def __init__(self, num_classes: int = 7, width: float = 1.0, depth: int = 1):
        super().__init__()
        self.num_classes = num_classes
        self.export = False

        def c(x):
            return max(8, int(round(x * width / 8)) * 8)

        c1, c2, c3, c4, c5 = c(16), c(32), c(64), c(128), c(192)
        self.stem = ConvBN(3, c1, 3, 2)  # /2
        self.stage1 = nn.Sequential(ConvBN(c1, c2, 3, 2), CSP(c2, c2, depth))  # /4
        self.stage2 = nn.Sequential(ConvBN(c2, c3, 3, 2), CSP(c3, c3, 2 * depth))  # /8 -> P3
        self.stage3 = nn.Sequential(ConvBN(c3, c4, 3, 2), CSP(c4, c4, 2 * depth))  # /16 -> P4
        self.stage4 = nn.Sequential(ConvBN(c4, c5, 3, 2), CSP(c5, c5, depth), SPPF(c5))  # /32 -> P5

        n3, n4, n5 = c(64), c(96), c(128)
        # top-down
        self.lat5 = ConvBN(c5, n4, 1)
        self.td4 = CSP(n4 + c4, n4, depth)
        self.lat4 = ConvBN(n4, n3, 1)
        self.td3 = CSP(n3 + c3, n3, depth)
        # bottom-up
        self.down3 = ConvBN(n3, n3, 3, 2)
        self.bu4 = CSP(n3 + n4, n4, depth)
        self.down4 = ConvBN(n4, n4, 3, 2)
        self.bu5 = CSP(n4 + n4, n5, depth)

        hm = c(64)
        self.heads = nn.ModuleList(
            [Head(n3, hm, num_classes, 8), Head(n4, hm, num_classes, 16), Head(n5, hm, num_classes, 32)]
        )
        self._points_cache: dict = {}

    def features(self, x):
        x = self.stem(x)
        x = self.stage1(x)
        p3 = self.stage2(x)
        p4 = self.stage3(p3)
        p5 = self.stage4(p4)
        l5 = self.lat5(p5)
        t4 = self.td4(torch.cat([F.interpolate(l5, scale_factor=2.0, mode="nearest"), p4], 1))
        l4 = self.lat4(t4)
        o3 = self.td3(torch.cat([F.interpolate(l4, scale_factor=2.0, mode="nearest"), p3], 1))
        o4 = self.bu4(torch.cat([self.down3(o3), t4], 1))
        o5 = self.bu5(torch.cat([self.down4(o4), l5], 1))
        return [o3, o4, o5]

    def forward(self, x):
        feats = self.features(x)
        cls_list, dist_list, sizes = [], [], []
        for f, head in zip(feats, self.heads):
            cl, rg = head(f)
            if rg.dtype != torch.float32:
                # bf16 autocast: box distances of hundreds of pixels need more than bf16's 8 bits
                cl, rg = cl.float(), rg.float()
            n, _, h, w = cl.shape
            sizes.append((h, w))
            cls_list.append(cl.flatten(2))  # [N, C, h*w]
            dist_list.append(F.softplus(rg.flatten(2)) * head.stride)  # [N, 4, h*w]
        cls = torch.cat(cls_list, 2)
        dist = torch.cat(dist_list, 2)
        key = (tuple(sizes), x.device, x.dtype)
        if self.export:
            points, _ = make_points(sizes, STRIDES, x.device, x.dtype)
            pts = points.t().unsqueeze(0)  # [1, 2, A]
            lt, rb = dist[:, :2], dist[:, 2:]
            wh = lt + rb
            cxy = pts + (rb - lt) * 0.5
            return torch.cat([cxy, wh, cls.sigmoid()], 1)
        if key not in self._points_cache:
            self._points_cache[key] = make_points(sizes, STRIDES, x.device, x.dtype)
        points, strides = self._points_cache[key]
        return TrainOutput(cls.transpose(1, 2), dist.transpose(1, 2), points, strides)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, size: int) -> int:
    """Multiply-accumulates of one forward pass at `size` x `size`, counted with forward
    hooks on Conv2d (BN, activations and pooling are left out: they are a few percent)."""
    macs = [0]

    def hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs[0] += out.numel() // out.shape[0] * (mod.in_channels // mod.groups) * k

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    model.train(was_training)
    for h in handles:
        h.remove()
    return macs[0]
