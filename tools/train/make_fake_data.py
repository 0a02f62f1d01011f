#!/usr/bin/env python3
"""Writes a tiny fake data set in the training layout (images/, labels/, classes.txt) for
smoke tests: pseudo-colour "bags" on a white background with simple coloured shapes, one
shape family per class. Not X-ray physics; only for checking that the pipeline runs.

    python tools/train/make_fake_data.py OUT_DIR --count 200 --seed 0
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from data import DEFAULT_CLASSES

ORANGE = (230, 150, 60)
GREEN = (90, 170, 80)
BLUE = (40, 70, 190)


def draw_object(d: ImageDraw.ImageDraw, cls: int, x: int, y: int, s: int, rng):
    """Draws class `cls` with its top-left near (x, y) and size ~s; returns its box."""
    if cls == 0:  # firearm: L shape, dark blue
        w, h = s, int(s * 0.6)
        d.rectangle([x, y, x + w, y + h // 3], fill=BLUE)
        d.rectangle([x + w - w // 4, y, x + w, y + h], fill=BLUE)
        return x, y, x + w, y + h
    if cls == 1:  # knife: thin long blade, light blue + handle
        w, h = s, max(6, s // 6)
        d.rectangle([x, y, x + int(w * 0.7), y + h], fill=(90, 130, 220))
        d.rectangle([x + int(w * 0.7), y, x + w, y + h], fill=ORANGE)
        return x, y, x + w, y + h
    if cls == 2:  # ammunition: a few small dark circles in a row
        r = max(4, s // 8)
        n = int(rng.integers(3, 6))
        for k in range(n):
            d.ellipse([x + k * 2 * r, y, x + k * 2 * r + 2 * r, y + 2 * r], fill=(20, 30, 120))
        return x, y, x + n * 2 * r, y + 2 * r
    if cls == 3:  # drug package: dense orange ellipse
        w, h = s, int(s * 0.7)
        d.ellipse([x, y, x + w, y + h], fill=(200, 110, 20))
        return x, y, x + w, y + h
    if cls == 4:  # cigarettes: orange block with stripes
        w, h = s, int(s * 0.5)
        d.rectangle([x, y, x + w, y + h], fill=ORANGE)
        for k in range(1, 6):
            xx = x + k * w // 6
            d.line([xx, y, xx, y + h], fill=(170, 90, 30), width=2)
        return x, y, x + w, y + h
    if cls == 5:  # phone: blue rectangle with a green inner part
        w, h = int(s * 0.5), s
        d.rectangle([x, y, x + w, y + h], fill=BLUE)
        d.rectangle([x + 3, y + 3, x + w - 3, y + h - 3], fill=GREEN)
        return x, y, x + w, y + h
    w, h = s, int(s * 0.45)  # currency: pale green stack
    d.rectangle([x, y, x + w, y + h], fill=(160, 210, 140))
    d.rectangle([x + 2, y + 2, x + w - 2, y + h - 2], outline=GREEN)
    return x, y, x + w, y + h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    (out / "classes.txt").write_text("\n".join(DEFAULT_CLASSES) + "\n")
    for i in range(args.count):
        W = int(rng.integers(700, 1400))
        H = int(rng.integers(450, 900))
        img = Image.new("RGB", (W, H), (255, 255, 255))
        d = ImageDraw.Draw(img)
        bx0, by0 = int(W * 0.05), int(H * 0.08)
        d.rounded_rectangle([bx0, by0, W - bx0, H - by0], radius=30, fill=(245, 215, 170), outline=(150, 120, 80), width=4)
        # clutter
        for _ in range(int(rng.integers(3, 9))):
            cx, cy = int(rng.integers(bx0, W - bx0)), int(rng.integers(by0, H - by0))
            r = int(rng.integers(20, 90))
            d.ellipse([cx - r, cy - r // 2, cx + r, cy + r // 2], fill=(235, 190, 130))
        lines = []
        n_obj = 0 if rng.random() < 0.2 else int(rng.integers(1, 4))
        for _ in range(n_obj):
            c = int(rng.integers(0, 7))
            s = int(rng.integers(60, 220))
            x = int(rng.integers(bx0 + 10, max(bx0 + 11, W - bx0 - s - 10)))
            y = int(rng.integers(by0 + 10, max(by0 + 11, H - by0 - s - 10)))
            x1, y1, x2, y2 = draw_object(d, c, x, y, s, rng)
            lines.append(f"{c} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} {(x2 - x1) / W:.6f} {(y2 - y1) / H:.6f}")
        img.save(out / "images" / f"fake_{i:05d}.png")
        (out / "labels" / f"fake_{i:05d}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    print(f"wrote {args.count} images to {out}")


if __name__ == "__main__":
    main()
