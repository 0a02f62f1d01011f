#!/usr/bin/env python3
"""Trains the project's detector on a YOLO-layout data set (CPU, or a CUDA GPU where there is
one) and exports it to ONNX.

    .venv-train/bin/python tools/train/train.py --data /work/data/synth-train \
        --val /work/data/synth-val --out runs/xsd --minutes 50

Writes OUT/model.onnx (YOLOv8 layout, see export.py), OUT/train_log.json, OUT/last.pt
(checkpoint every epoch; `--resume` continues from it) and OUT/classes.txt.
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: on a 2-core machine shared with other work a
# spinning team stalls badly (measured: 2.0 img/s spinning vs 5.9 passive with a busy core).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import (Augmenter, Preloaded, TrainSet, collate, epoch_order, find_split, image_batch,  # noqa: E402
                  repeat_factors, worker_count)
from export import export_onnx, verify_onnx  # noqa: E402
from grow import deepen  # noqa: E402
from init_onnx import load_onnx_weights, onnx_class_count, transplant_classes  # noqa: E402
from loss import DetectionLoss  # noqa: E402
from metrics import MAP, decode  # noqa: E402
from model import Detector, count_macs, count_params  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, nargs="+",
                    help="training set folders (images/ + labels/) or folders/files with data.yaml; several are joined")
    ap.add_argument("--val", help="validation set folder; default: data.yaml's val split, if any")
    ap.add_argument("--out", default="runs/xsd", help="output folder")
    ap.add_argument("--imgsz", type=int, default=416, help="square input size (multiple of 32)")
    ap.add_argument("--cache-size", type=int, default=0, help="size images are preloaded at (default imgsz*1.25)")
    ap.add_argument("--width", type=float, default=1.25, help="channel multiplier (1.0: 16-32-64-128-192)")
    ap.add_argument("--depth", type=int, default=1, help="residual blocks per CSP unit")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=300, help="upper bound on epochs")
    ap.add_argument("--minutes", type=float, default=0, help="time budget; the LR schedule anneals over it (0: none)")
    ap.add_argument("--lr", type=float, default=2e-3, help="AdamW peak learning rate")
    ap.add_argument("--final-lr", type=float, default=0.02, help="final LR as a fraction of --lr")
    ap.add_argument("--wd", type=float, default=0.05, help="AdamW weight decay (not on norms and biases)")
    ap.add_argument("--warmup", type=int, default=300, help="warm-up iterations")
    ap.add_argument("--ema", type=float, default=0.999, help="EMA decay (0: no EMA)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                    help="where the network trains (auto: cuda when PyTorch sees a GPU); augmentation stays on the CPU")
    ap.add_argument("--bf16", action="store_true",
                    help="bfloat16 autocast for the training forward pass (weights, loss, optimizer, validation "
                         "and export stay float32); on an AVX512-BF16 CPU (measured: AMD EPYC) the network's forward and "
                         "backward ran about 1.7x faster, a whole training step about 1.3x; on a CPU without AVX512-BF16 "
                         "or AMX it falls back to float32, since emulated bfloat16 is many times slower")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: the cores available; 2 on cuda)")
    ap.add_argument("--workers", type=int, default=-1,
                    help="DataLoader worker processes (0: augment in the main process; "
                         "default: 0 on cpu, all cores but one on cuda)")
    ap.add_argument("--val-max", type=int, default=400, help="images used for the per-epoch quick val mAP (0: all)")
    ap.add_argument("--val-every", type=int, default=1, help="quick val every N epochs (and always at the end)")
    ap.add_argument("--mosaic", type=float, default=0.2, help="probability of a 2x2 mosaic")
    ap.add_argument("--degrees", type=float, default=0.0, help="small-angle rotation range (degrees, 0: off)")
    ap.add_argument("--scale", type=float, nargs=2, default=(0.6, 1.4), help="random scale range")
    ap.add_argument("--translate", type=float, default=0.1, help="random translation (fraction of the image)")
    ap.add_argument("--deterministic", action="store_true",
                    help="torch.use_deterministic_algorithms (about 6x slower on CPU; CPU kernels are run-to-run stable anyway)")
    ap.add_argument("--resume", nargs="?", const="auto", help="resume from OUT/last.pt or the given checkpoint")
    ap.add_argument("--init", metavar="MODEL_ONNX",
                    help="start from the weights of an exported model.onnx of this architecture (fine-tuning; "
                         "a new schedule, optimizer and EMA); ignored with --resume, whose checkpoint holds the weights")
    ap.add_argument("--init-depth", type=int, default=0,
                    help="--depth of the --init export when it is smaller than --depth: the export is grown into "
                         "the deeper model (new residual blocks whose fuse weights start at zero, so it starts "
                         "computing exactly what the export does; grow.py). 0: the same as --depth")
    ap.add_argument("--init-classes", metavar="MAP",
                    help="with --init: the export's class each of this run's classes starts from, comma-separated "
                         "in this run's class order (an index into the export's classes, or -1 for a new class with "
                         "a fresh predictor); lets a run keep, drop, reorder or add classes (own_data.py sets it)")
    ap.add_argument("--calib", type=int, default=256,
                    help="augmented training samples that calibrate BatchNorm for --init")
    ap.add_argument("--repeat-thresh", type=float, default=0.0,
                    help="repeat-factor sampling: images holding a class found in under this fraction of training "
                         "images are drawn sqrt(thresh/fraction) times per epoch (0: off, every image once)")
    ap.add_argument("--max-train", type=int, default=0, help="use only the first N training images (0: all)")
    return ap.parse_args(argv)


class EMA:
    """Exponential moving average of weights and buffers, decay ramped up at the start unless
    the start is already trained (`ramp=False`, --init): the ramp would make the first
    epoch's EMA an average of only the last few noisy steps."""

    def __init__(self, model, decay: float, tau: float = 300.0, ramp: bool = True):
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.tau = tau
        self.ramp = ramp
        self.updates = 0

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau)) if self.ramp else self.decay
        msd = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


def seed_everything(seed: int, deterministic: bool):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        from torch.utils import deterministic as tud

        tud.fill_uninitialized_memory = False


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: PyTorch sees no CUDA GPU (torch.cuda.is_available() is false)")
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(choice)


@torch.no_grad()
def quick_val(model, val: Preloaded, names, batch: int, limit: int, device: torch.device):
    """mAP@0.5 and mAP@0.5:0.95 on (the first `limit` of) the val set, letterboxed exactly as
    the service does, through the export-mode forward (same tensor as the ONNX model)."""
    m = model
    m.eval()
    m.export = True
    n = len(val) if not limit else min(limit, len(val))
    acc = MAP(len(names))
    for s in range(0, n, batch):
        x = torch.from_numpy(val.images[s:s + batch]).to(device).permute(0, 3, 1, 2).float().div_(255)
        x = x.contiguous(memory_format=torch.channels_last)
        pred = m(x).cpu().numpy()
        for k in range(pred.shape[0]):
            boxes, scores, classes = decode(pred[k], conf=0.001, iou=0.5)
            acc.add(boxes, scores, classes, val.boxes[s + k], val.classes[s + k])
    m.export = False
    return acc.compute()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX), as PyTorch's own CPU
    detection sees them. Without them PyTorch emulates bfloat16 and a training step is far slower
    than in float32 (measured on an AVX2-only AMD EPYC: 0.8 images/s against 5)."""
    caps = torch.cpu.get_capabilities()
    return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))


def lr_factor(progress: float, it: int, warmup: int, final: float) -> float:
    cos = final + (1 - final) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    if it < warmup:
        return cos * (it + 1) / warmup
    return cos


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(args.seed, args.deterministic)
    if args.imgsz % 32:
        raise SystemExit("--imgsz must be a multiple of 32")
    device = pick_device(args.device)
    args.device = device.type  # the log records where it ran, not "auto"
    # On a GPU the main process only feeds it; the cores belong to the augmentation workers.
    threads = args.threads or (2 if device.type == "cuda" else worker_count())
    torch.set_num_threads(threads)
    if args.workers < 0:
        args.workers = max(1, worker_count() - 1) if device.type == "cuda" else 0
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(f"device: cuda ({torch.cuda.get_device_name(device)}), {args.workers} augmentation workers")
    else:
        print(f"device: cpu, {threads} threads, {args.workers} augmentation workers")
    if args.bf16 and device.type == "cpu" and not cpu_has_native_bf16():
        # The log records what ran: the same recipe in float32, at the CPU's full speed.
        print("--bf16: this CPU has no AVX512-BF16 or AMX instructions, so bfloat16 would be emulated "
              "and many times slower; training in float32 instead")
        args.bf16 = False
    cache = args.cache_size or int(round(args.imgsz * 1.25 / 32)) * 32

    train_paths, names = [], None
    for d in args.data:
        paths, n = find_split(d, "train")
        if names is not None and n != names:
            raise SystemExit(f"{d}: classes {n} differ from {names}")
        train_paths, names = train_paths + paths, n
    if args.max_train:
        train_paths = train_paths[: args.max_train]
    val_paths = []
    if args.val:
        val_paths, _ = find_split(args.val, "val")
    else:
        try:
            first = args.data[0]
            val_paths, _ = find_split(first, "val") if (Path(first) / "data.yaml").exists() or first.endswith((".yaml", ".yml")) else ([], None)
        except SystemExit:
            val_paths = []
    if not train_paths:
        raise SystemExit(f"no training images in {args.data}")
    nc = len(names)
    print(f"train: {len(train_paths)} images, val: {len(val_paths)} images, {nc} classes: {', '.join(names)}")

    model = Detector(nc, args.width, args.depth)
    params = count_params(model)
    gflops = 2 * count_macs(model, args.imgsz) / 1e9
    print(f"model: width {args.width}, depth {args.depth}: {params / 1e6:.2f} M parameters, {gflops:.2f} GFLOPs at {args.imgsz}x{args.imgsz}")

    load_workers = max(1, args.threads or worker_count())
    train_data = Preloaded(train_paths, cache, load_workers, "preload train")
    val_data = Preloaded(val_paths, args.imgsz, load_workers, "preload val") if val_paths else None
    aug = Augmenter(args.imgsz, scale=tuple(args.scale), translate=args.translate, degrees=args.degrees, mosaic=args.mosaic)
    train_set = TrainSet(train_data, aug, args.seed)

    # A stage started from an export (not resumed): its BatchNorms are calibrated and its EMA
    # starts at full decay, since the loaded weights are already trained.
    from_export = bool(args.init) and not args.resume
    if from_export:
        # Calibrate on augmented training samples, the batches BatchNorm will see: calibrated on
        # clean scans, the running stats drift to augmented-batch stats within ~100 steps and
        # change the exported function (bn_drift.py, no learning: val mAP@0.5 0.697 -> 0.668).
        picks = np.linspace(0, len(train_set) - 1, num=min(args.calib, len(train_set))).astype(int)
        calib = image_batch([train_set[int(i)][0] for i in picks])
        if args.init_classes:
            class_map = [int(x) for x in args.init_classes.split(",")]
            if len(class_map) != nc:
                raise SystemExit(f"--init-classes names {len(class_map)} classes, the data {nc}")
            src_depth = args.init_depth or args.depth
            if src_depth > args.depth:
                raise SystemExit(f"--init-depth {src_depth} is deeper than --depth {args.depth}: a model only grows")
            src = Detector(onnx_class_count(args.init), args.width, src_depth)
            load_onnx_weights(src, args.init, calib)
            mid = Detector(nc, args.width, src_depth)
            transplant_classes(src, mid, class_map)
            if src_depth != args.depth:
                added = deepen(mid, model)
                print(f"grew the depth-{src_depth} export into depth {args.depth}: {added} residual blocks added")
            else:
                model.load_state_dict(mid.state_dict())
            kept = sum(1 for c in class_map if c >= 0)
            print(f"classes: {kept} of {nc} start from the export's, {nc - kept} new")
        elif args.init_depth and args.init_depth != args.depth:
            if args.init_depth > args.depth:
                raise SystemExit(f"--init-depth {args.init_depth} is deeper than --depth {args.depth}: a model only grows")
            small = Detector(nc, args.width, args.init_depth)
            load_onnx_weights(small, args.init, calib)
            added = deepen(small, model)
            print(f"grew the depth-{args.init_depth} export into depth {args.depth}: {added} residual blocks added")
        else:
            load_onnx_weights(model, args.init, calib)
        model = model.to(device)
        if val_data is not None:
            m50, m5095, _, _ = quick_val(model, val_data, names, args.batch, args.val_max, device)
            print(f"initialised from {args.init}: quick val mAP@0.5 {m50:.3f}, mAP@0.5:0.95 {m5095:.3f}")
        else:
            print(f"initialised from {args.init}")

    model = model.to(device, memory_format=torch.channels_last)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.999))
    ema = EMA(model, args.ema, ramp=not from_export) if args.ema > 0 else None
    crit = DetectionLoss(nc)

    factors = repeat_factors(train_data.classes, nc, args.repeat_thresh)
    if args.repeat_thresh > 0:
        print(f"repeat-factor sampling at {args.repeat_thresh}: {factors.sum():.0f} draws an epoch from "
              f"{len(factors)} images (most repeated: {factors.max():.2f}x)")
    iters_per_epoch = max(1, int(factors.sum()) // args.batch)
    total_iters = iters_per_epoch * args.epochs
    budget = args.minutes * 60.0
    start_epoch, it, elapsed_before = 0, 0, 0.0
    log = {"args": vars(args), "params": params, "gflops": gflops, "names": names, "epochs": []}

    ckpt_path = out / "last.pt"
    if args.resume:
        rp = ckpt_path if args.resume == "auto" else Path(args.resume)
        ck = torch.load(rp, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        if ema is not None and ck.get("ema") is not None:
            ema.model.load_state_dict(ck["ema"])
            ema.updates = ck["ema_updates"]
            ema.ramp = ck.get("ema_ramp", True)  # an --init stage resumed keeps its full-decay EMA
        start_epoch, it, elapsed_before = ck["epoch"] + 1, ck["iter"], ck["elapsed"]
        log = ck["log"]
        random.setstate(ck["py_rng"])
        np.random.set_state(ck["np_rng"])
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed from {rp}: epoch {start_epoch}, iteration {it}, {elapsed_before / 60:.1f} min done")

    def progress_now():
        p = it / total_iters
        if budget > 0:
            p = max(p, (elapsed_before + time.time() - t0) / budget)
        return p

    def save_ckpt(epoch):
        ck = {
            "model": model.state_dict(), "ema": ema.model.state_dict() if ema else None,
            "ema_updates": ema.updates if ema else 0, "ema_ramp": ema.ramp if ema else True,
            "opt": opt.state_dict(), "epoch": epoch, "iter": it,
            "elapsed": elapsed_before + time.time() - t0, "log": log, "args": vars(args), "names": names,
            "py_rng": random.getstate(), "np_rng": np.random.get_state(), "torch_rng": torch.get_rng_state(),
        }
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(ck, tmp)
        os.replace(tmp, ckpt_path)

    (out / "classes.txt").write_text("\n".join(names) + "\n")
    t0 = time.time()
    stop = False
    interrupted = False
    last = {"loss": float("nan"), "cls": float("nan"), "box": float("nan")}
    epoch = start_epoch - 1
    # A run started in the background (`&`, nohup) has SIGINT ignored by its shell, and `kill`
    # sends SIGTERM: both end training as Ctrl-C does (checkpoint, export, exit).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    try:
        for epoch in range(start_epoch, args.epochs):
            model.train()
            train_set.epoch = epoch
            perm = epoch_order(factors, np.random.default_rng([args.seed, epoch, 7]))
            loader = torch.utils.data.DataLoader(
                train_set, batch_size=args.batch, sampler=perm.tolist(), num_workers=args.workers,
                collate_fn=collate, drop_last=True, prefetch_factor=4 if args.workers else None,
                pin_memory=device.type == "cuda",
            )
            sums = {"loss": 0.0, "cls": 0.0, "box": 0.0}
            n_b = 0
            t_ep = time.time()
            bar = tqdm(loader, total=iters_per_epoch, desc=f"epoch {epoch + 1}", unit="batch", leave=True,
                       mininterval=0.5 if sys.stderr.isatty() else 30.0)
            for imgs, gt_cls, gt_box, gt_mask in bar:
                f = lr_factor(progress_now(), it, args.warmup, args.final_lr)
                for g in opt.param_groups:
                    g["lr"] = args.lr * f
                imgs = imgs.to(device, non_blocking=True)
                gt_cls, gt_box, gt_mask = (t.to(device, non_blocking=True) for t in (gt_cls, gt_box, gt_mask))
                x = imgs.float().div_(255).contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
                    outp = model(x)
                loss, parts = crit(outp, gt_cls, gt_box, gt_mask)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
                opt.step()
                if ema:
                    ema.update(model)
                it += 1
                n_b += 1
                sums["loss"] += loss.item()
                sums["cls"] += parts["cls"]
                sums["box"] += parts["box"]
                ips = n_b * args.batch / (time.time() - t_ep)
                bar.set_postfix(loss=f"{sums['loss'] / n_b:.3f}", cls=f"{sums['cls'] / n_b:.3f}",
                                box=f"{sums['box'] / n_b:.3f}", lr=f"{args.lr * f:.2e}", ips=f"{ips:.1f}")
                if progress_now() >= 1.0:
                    stop = True
                    break
            bar.close()
            ep_time = time.time() - t_ep
            last = {k: v / max(1, n_b) for k, v in sums.items()}
            rec = {"epoch": epoch + 1, "iters": it, "images_per_s": n_b * args.batch / max(ep_time, 1e-9),
                   "minutes": (elapsed_before + time.time() - t0) / 60, **last}
            final_epoch = stop or epoch + 1 == args.epochs
            if val_data is not None and ((epoch + 1) % args.val_every == 0 or final_epoch):
                m50, m5095, ap50, _ = quick_val(ema.model if ema else model, val_data, names, args.batch, args.val_max,
                                                device)
                rec.update({"val_map50": m50, "val_map50_95": m5095,
                            "val_ap50": {names[c]: (None if np.isnan(v) else float(v)) for c, v in enumerate(ap50)}})
                tqdm.write(f"epoch {epoch + 1}: loss {last['loss']:.3f} (cls {last['cls']:.3f}, box {last['box']:.3f}), "
                           f"{rec['images_per_s']:.1f} img/s, quick val mAP@0.5 {m50:.3f}, mAP@0.5:0.95 {m5095:.3f}")
            else:
                tqdm.write(f"epoch {epoch + 1}: loss {last['loss']:.3f} (cls {last['cls']:.3f}, box {last['box']:.3f}), "
                           f"{rec['images_per_s']:.1f} img/s")
            log["epochs"].append(rec)
            (out / "train_log.json").write_text(json.dumps(log, indent=1))
            save_ckpt(epoch)
            if stop:
                break
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: saving a checkpoint and exporting")
        save_ckpt(max(epoch - 1, start_epoch - 1))

    total_min = (elapsed_before + time.time() - t0) / 60
    final = ema.model if ema else model
    onnx_path = out / "model.onnx"
    export_onnx(final, onnx_path, args.imgsz)
    diff = verify_onnx(final, onnx_path, args.imgsz)
    log["summary"] = {
        "epochs": len(log["epochs"]), "iterations": it, "images_seen": it * args.batch, "minutes": total_min,
        "final_losses": last, "val_map50": log["epochs"][-1].get("val_map50") if log["epochs"] else None,
        "val_map50_95": log["epochs"][-1].get("val_map50_95") if log["epochs"] else None,
        "onnx_max_abs_diff": diff, "interrupted": interrupted,
    }
    (out / "train_log.json").write_text(json.dumps(log, indent=1))
    s = log["summary"]
    print("\n==== summary ====")
    print(f"epochs {s['epochs']}, iterations {it} ({s['images_seen']} images), {total_min:.1f} min")
    print(f"final losses: total {last['loss']:.3f}, cls {last['cls']:.3f}, box {last['box']:.3f}")
    if s["val_map50"] is not None:
        print(f"quick val mAP@0.5 {s['val_map50']:.3f}, mAP@0.5:0.95 {s['val_map50_95']:.3f} (EMA weights)")
    print(f"model: {params / 1e6:.2f} M parameters, {gflops:.2f} GFLOPs at {args.imgsz}x{args.imgsz}")
    print(f"exported {onnx_path} (onnxruntime vs torch max abs diff {diff:.1e})")


if __name__ == "__main__":
    main()
