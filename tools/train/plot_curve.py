"""Draws a training run's per-epoch validation mAP (from train_log.json) as an SVG.

No plotting library: a few dozen SVG elements are enough, and the training environment stays
small. Marks (`--mark EPOCH:TEXT`) label what changed between stages of a run, such as a
resume on a new schedule or a data-set change.

    python tools/train/plot_curve.py runs/xray-detector/train_log.json docs/images/training-curve.svg \
        --mark "8:resumed" --mark "21:new labels"
"""
import argparse
import json
import math
from html import escape
from pathlib import Path

W, H = 760, 360
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 30, 50
SERIES = (("val_map50", "mAP@0.5", "#1f6fb4"), ("val_map50_95", "mAP@0.5:0.95", "#d9781e"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", help="train_log.json written by train.py")
    ap.add_argument("out", help="SVG file to write")
    ap.add_argument("--mark", action="append", default=[], help="EPOCH:TEXT, a vertical line after that epoch")
    ap.add_argument("--title", default="Validation mAP per epoch (EMA weights)")
    args = ap.parse_args()

    epochs = [e for e in json.loads(Path(args.log).read_text())["epochs"] if e.get("val_map50") is not None]
    if not epochs:
        raise SystemExit(f"{args.log}: no epoch with a validation result")
    last = max(e["epoch"] for e in epochs)
    # The y axis ends on a tenth above the best value, one grid line a tenth.
    top = min(1.0, math.ceil(max(e["val_map50"] for e in epochs) * 1.1 * 10) / 10)

    def x(epoch):
        return LEFT + (W - LEFT - RIGHT) * epoch / last

    def y(v):
        return H - BOTTOM - (H - TOP - BOTTOM) * v / top

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="14">{escape(args.title)}</text>']
    steps = round(top * 10)
    for i in range(steps + 1):
        v = top * i / steps
        svg.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    tick = max(1, round(last / 10))
    for ep in range(0, last + 1, tick):
        svg.append(f'<text x="{x(ep):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{ep}</text>')
    svg.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 12}" text-anchor="middle">epoch</text>')
    svg.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}" stroke="black"/>')
    svg.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}" stroke="black"/>')
    for spec in args.mark:
        ep, _, text = spec.partition(":")
        mx = x(float(ep))
        svg.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#888" stroke-dasharray="4 3"/>')
        svg.append(f'<text x="{mx + 4:.1f}" y="{TOP + 12}" fill="#555">{escape(text)}</text>')
    for i, (key, label, colour) in enumerate(SERIES):
        pts = " ".join(f"{x(e['epoch']):.1f},{y(e[key]):.1f}" for e in epochs if e.get(key) is not None)
        svg.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        ly = TOP + 30 + 16 * i
        svg.append(f'<line x1="{LEFT + 10}" x2="{LEFT + 30}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        final = epochs[-1].get(key)
        svg.append(f'<text x="{LEFT + 36}" y="{ly + 4}">{label} (last: {final:.3f})</text>')
    svg.append("</svg>")
    Path(args.out).write_text("\n".join(svg) + "\n")
    print(f"wrote {args.out}: {len(epochs)} epochs, last mAP@0.5 {epochs[-1]['val_map50']:.3f}")


if __name__ == "__main__":
    main()
