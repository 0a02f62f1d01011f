"""Draws a training run's per-epoch validation mAP (from train_log.json) as an SVG.

No plotting library: a few dozen SVG elements are enough, and the training environment stays
small. Several logs (a run, then a fine-tuning run started from its export with `--init`) are
drawn one after the other. The x axis counts training images seen, since epochs of runs on
different data sets differ in size. Marks (`--mark N:TEXT`, after the N-th epoch drawn, counting
across the logs) label what changed between stages, such as a resume on a new schedule or a
data-set change.

    M=models/xray-detector
    python tools/train/plot_curve.py $M/train_log-base.json $M/train_log-finetune.json \
        $M/train_log-finetune-2.json $M/train_log-finetune-3.json $M/train_log-finetune-4.json \
        $M/train_log-finetune-5.json $M/train_log-finetune-6.json $M/train_log-finetune-7.json \
        $M/train_log-finetune-8.json docs/images/training-curve.svg \
        --mark "8:resumed" --mark "21:new labels" --mark "38:fine-tune" --mark "46:bf16 fine-tune" \
        --mark "55:stage 6" --mark "64:stage 7" --mark "68:stage 8" --mark "74:depth 2" --mark "81:depth 3" \
        --mark "89:depth 4"
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
    ap.add_argument("logs", nargs="+", metavar="LOG", help="train_log.json files written by train.py, in order")
    ap.add_argument("out", help="SVG file to write")
    ap.add_argument("--mark", action="append", default=[], help="N:TEXT, a vertical line after the N-th epoch drawn (counting across the logs)")
    ap.add_argument("--title", default="Validation mAP per epoch (EMA weights)")
    args = ap.parse_args()

    epochs, offset = [], 0
    for path in args.logs:
        log = json.loads(Path(path).read_text())
        batch = log["args"]["batch"]
        for e in log["epochs"]:
            e["seen"] = (offset + e["iters"] * batch) / 1000
        if log["epochs"]:
            offset += log["epochs"][-1]["iters"] * batch
        epochs += [e for e in log["epochs"] if e.get("val_map50") is not None]
    if not epochs:
        raise SystemExit(f"{', '.join(args.logs)}: no epoch with a validation result")
    last = epochs[-1]["seen"]
    # The y axis ends on a tenth above the best value, one grid line a tenth.
    top = min(1.0, math.ceil(max(e["val_map50"] for e in epochs) * 1.1 * 10) / 10)

    def x(seen):
        return LEFT + (W - LEFT - RIGHT) * seen / last

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
    tick = 10 ** math.floor(math.log10(max(last / 5, 1e-9)))
    tick *= next(m for m in (1, 2, 5, 10) if last / (tick * m) <= 10)
    for i in range(int(last // tick) + 1):
        svg.append(f'<text x="{x(i * tick):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{i * tick:g}</text>')
    svg.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 12}" text-anchor="middle">training images seen (thousands)</text>')
    svg.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}" stroke="black"/>')
    svg.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}" stroke="black"/>')
    for spec in args.mark:
        n, _, text = spec.partition(":")
        if not n.isdigit() or not 1 <= int(n) <= len(epochs):
            raise SystemExit(f"--mark {spec}: N must be an epoch drawn, 1 to {len(epochs)}")
        mx = x(epochs[int(n) - 1]["seen"])
        svg.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#888" stroke-dasharray="4 3"/>')
        svg.append(f'<text x="{mx + 4:.1f}" y="{TOP + 12}" fill="#555">{escape(text)}</text>')
    for i, (key, label, colour) in enumerate(SERIES):
        pts = " ".join(f"{x(e['seen']):.1f},{y(e[key]):.1f}" for e in epochs if e.get(key) is not None)
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
