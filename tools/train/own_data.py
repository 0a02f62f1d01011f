#!/usr/bin/env python3
"""Trains the project's detector on your own (licensed) scans and writes a model folder the
service loads as it is: one command from a data set to `model.onnx`, `model.toml` (classes,
categories, thresholds chosen on the validation split) and an eval report.

    .venv-train/bin/python tools/train/own_data.py --data path/to/data.yaml --out models/my-detector

The data: a YOLO `data.yaml` (`train:` and `val:` image folders, lists or .txt lists of images;
labels in the sibling `labels/` folders; `names:` as a list or an `id: name` map; `nc`), a folder
holding one, or a folder written by `xray-screen synth` (then give the validation set with
`--val`). Label lines are `class cx cy w h`, normalised; an image without labels is a benign scan.

Classes: the service needs a category for every class (weapon, drugs, undeclared_goods, or
other, which never alarms). A class named like one of the project's seven (firearm, knife,
ammunition, drug_package, cigarettes, phone, currency; case, spaces and hyphens do not matter)
is that class. Any other needs `--map NAME=TARGET`: TARGET is one of the project's classes (the
class is trained and reported as it; several of yours may map to one), a category (the class
keeps its name, with that category), or `ignore` (its labels are dropped). The run stops before
training when a class has no category.

Steps: (1) the data is checked and prepared in `--work` (links to your images, labels in the
model's class ids); (2) train.py fine-tunes the shipped model (`--init`, the default; its
predictors of the classes you keep, new ones for classes it does not know) or trains from
scratch (`--scratch`); (3) OUT/model.onnx and OUT/model.toml are written; (4) thresholds.py
chooses each class's threshold on the validation split (weapons: at most `--weapon-fa` weapon
false alarms on its benign scans); (5) `xray-screen eval` measures the model folder on the
validation split and writes OUT/eval-val.json. A summary ends the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from data import IMG_EXT, _parse_yaml, find_split, label_path_for  # noqa: E402

CATEGORIES = ("weapon", "drugs", "undeclared_goods", "other")
DEFAULT_INIT = ROOT / "models" / "xray-detector"


def step(n: int, text: str) -> None:
    print(f"\n==== [{n}/5] {text}", flush=True)


def norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="data.yaml, a folder with one, or a `synth` folder")
    ap.add_argument("--val", help="validation set (folder or data.yaml); default: the data's `val:` split")
    ap.add_argument("--out", required=True, help="model folder to write (model.onnx, model.toml, eval-val.json)")
    ap.add_argument("--name", help="the model's name in the service (default: the --out folder's name)")
    ap.add_argument("--version", default="1.0.0", help="the model's version in model.toml")
    ap.add_argument("--map", action="append", default=[], metavar="NAME=TARGET",
                    help="a class of your data: TARGET is a project class, a category (weapon, drugs, "
                         "undeclared_goods, other) or `ignore`; repeat for several")
    init = ap.add_mutually_exclusive_group()
    init.add_argument("--init", default=str(DEFAULT_INIT),
                      help="model folder or model.onnx to fine-tune from (default: the shipped model)")
    init.add_argument("--scratch", action="store_true", help="train from random weights instead")
    ap.add_argument("--minutes", type=float, default=0, help="training time budget (0: --epochs decides)")
    ap.add_argument("--epochs", type=int, default=30, help="training epochs (an upper bound with --minutes)")
    ap.add_argument("--imgsz", type=int, default=0, help="input size (default: the --init model's, else 416)")
    ap.add_argument("--lr", type=float, default=0, help="peak learning rate (default: 3e-4 fine-tuning, 2e-3 scratch)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--benign", help="an extra folder of benign-only validation scans for the false-alarm caps")
    ap.add_argument("--weapon-fa", type=float, default=0.04,
                    help="highest weapon false-alarm rate on benign validation scans (thresholds.py)")
    ap.add_argument("--class-fa", type=float, default=0.03, help="highest benign alarm rate of one other class")
    ap.add_argument("--floor", type=float, default=0.2, help="lowest threshold of any class")
    ap.add_argument("--work", help="working folder: prepared data, checkpoints, train log (default: runs/NAME)")
    ap.add_argument("--xray-screen", dest="binary",
                    help="the xray-screen binary for the eval report (default: target/release/xray-screen, "
                         "else on PATH)")
    ap.add_argument("--train-arg", action="append", default=[], metavar="ARG",
                    help="passed on to train.py as it is (e.g. --train-arg=--bf16); repeat for several")
    return ap.parse_args(argv)


# ----------------------------------------------------------------------------- data

def data_classes(data: str) -> list[str]:
    """The class names of the data, by id, from data.yaml (`names`, checked against `nc`) or a
    synth folder's classes.txt."""
    p = Path(data)
    yaml = p if p.suffix in (".yaml", ".yml") else p / "data.yaml"
    if yaml.is_file():
        cfg = _parse_yaml(yaml)
        names = cfg.get("names")
        if not names:
            raise SystemExit(f"{yaml}: no `names:` (the class names, as a list or an `id: name` map)")
        if "nc" in cfg and int(cfg["nc"]) != len(names):
            raise SystemExit(f"{yaml}: nc is {cfg['nc']} but `names:` lists {len(names)} classes")
        return list(names)
    if (p / "classes.txt").is_file():
        return [x.strip() for x in (p / "classes.txt").read_text().splitlines() if x.strip()]
    raise SystemExit(f"{data}: neither a data.yaml nor a folder with data.yaml or classes.txt")


def resolve_classes(names: list[str], maps: list[str], base: list[dict]):
    """The model's classes and where each of the data's classes goes.

    Returns (classes, target): classes are dicts with name, category, nms_iou (or None) and
    init (the index of the base model's class it continues, or -1); target[i] is the model
    class of data class i, or None when its labels are dropped. Project classes come first in
    the base model's order, then new ones in the data's order."""
    base_by = {norm(c["name"]): (i, c) for i, c in enumerate(base)}
    given: dict[str, str] = {}
    for m in maps:
        if "=" not in m:
            raise SystemExit(f"--map {m!r}: expected NAME=TARGET")
        k, v = m.split("=", 1)
        given[norm(k)] = v.strip()
    unknown = [k for k in given if k not in {norm(n) for n in names}]
    if unknown:
        raise SystemExit(f"--map names {', '.join(unknown)}, not classes of the data ({', '.join(names)})")
    # Each data class's destination: ("base", i), ("new", category) or ("ignore",).
    dest, errors = [], []
    for i, n in enumerate(names):
        t = given.get(norm(n))
        if t is None:
            if norm(n) in base_by:
                dest.append(("base", base_by[norm(n)][0]))
                continue
            errors.append(f"  class {i} {n!r} has no category: it is not one of the project's classes")
            dest.append(None)
        elif norm(t) in base_by:
            dest.append(("base", base_by[norm(t)][0]))
        elif t in CATEGORIES:
            dest.append(("new", t))
        elif t == "ignore":
            dest.append(("ignore",))
        else:
            errors.append(f"  --map {n}={t}: {t!r} is neither a project class, a category nor `ignore`")
            dest.append(None)
    if errors:
        raise SystemExit(
            "the classes of the data cannot all be mapped to the service's categories:\n" + "\n".join(errors)
            + f"\nproject classes: {', '.join(c['name'] for c in base)}; categories: {', '.join(CATEGORIES)}.\n"
            "Give --map NAME=PROJECT_CLASS (train and report it as that class), --map NAME=CATEGORY (keep its "
            "name, with that category) or --map NAME=ignore (drop its labels), e.g. --map gun=firearm.")
    classes, target = [], [None] * len(names)
    for b, c in enumerate(base):
        users = [i for i, d in enumerate(dest) if d == ("base", b)]
        if users:
            classes.append({"name": c["name"], "category": c["category"], "nms_iou": c.get("nms_iou"), "init": b})
            for i in users:
                target[i] = len(classes) - 1
    for i, d in enumerate(dest):
        if d[0] == "new":
            name = norm(names[i])
            if any(c["name"] == name for c in classes):
                raise SystemExit(f"class {names[i]!r} would be named {name!r}, which another class already is")
            classes.append({"name": name, "category": d[1], "nms_iou": None, "init": -1})
            target[i] = len(classes) - 1
    if not classes:
        raise SystemExit("every class of the data is ignored: nothing to train")
    return classes, target


def prepare(images: list[Path], target: list, n_data: int, dest: Path, class_names: list[str]) -> dict:
    """Links the images into dest/images and writes their labels, in the model's class ids,
    into dest/labels (dropping ignored classes). Checks every label line. Returns counts."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "images").mkdir(parents=True)
    (dest / "labels").mkdir()
    (dest / "classes.txt").write_text("\n".join(class_names) + "\n")
    stems: set[str] = set()
    counts = {"images": 0, "benign": 0, "objects": [0] * len(class_names), "dropped": 0}
    for k, img in enumerate(images):
        img = img.absolute()
        if img.suffix.lower() not in IMG_EXT or not img.is_file():
            raise SystemExit(f"{img}: not an image file")
        stem = img.stem if img.stem not in stems else f"{img.stem}-{k}"
        stems.add(stem)
        os.symlink(img, dest / "images" / (stem + img.suffix))
        lines = []
        lp = label_path_for(img)
        text = lp.read_text() if lp.exists() else ""
        for n, line in enumerate(text.splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            where = f"{lp}:{n}"
            if len(parts) != 5:
                raise SystemExit(f"{where}: expected `class cx cy w h`, got {line!r} (segments are not supported)")
            try:
                cls = int(parts[0])
                box = [float(x) for x in parts[1:]]
            except ValueError:
                raise SystemExit(f"{where}: {line!r} is not `class cx cy w h`") from None
            if not 0 <= cls < n_data:
                raise SystemExit(f"{where}: class {cls}, but the data names {n_data} classes")
            if not all(0.0 <= v <= 1.0 for v in box):
                raise SystemExit(f"{where}: box {box} is not normalised to 0..1")
            t = target[cls]
            if t is None:
                counts["dropped"] += 1
                continue
            counts["objects"][t] += 1
            lines.append(f"{t} {' '.join(parts[1:])}")
        (dest / "labels" / (stem + ".txt")).write_text("".join(x + "\n" for x in lines))
        counts["images"] += 1
        counts["benign"] += not lines
    return counts


# ----------------------------------------------------------------------------- model folder

def infer_arch(onnx_path: Path, nc: int) -> tuple[float, int]:
    """The --width and --depth of an export of this detector, found by matching its
    convolutions' shapes against the architecture at each candidate size."""
    import onnx
    from onnx import numpy_helper
    from model import Detector

    graph = onnx.load(str(onnx_path)).graph
    inits = {i.name: i for i in graph.initializer}
    shapes = sorted(tuple(numpy_helper.to_array(inits[n.input[1]]).shape) for n in graph.node
                    if n.op_type == "Conv" and n.input[1] in inits)
    for width in (1.0, 1.25, 0.75, 0.5, 1.5, 2.0):
        for depth in range(1, 9):
            m = Detector(nc, width, depth)
            mine = sorted(tuple(c.weight.shape) for c in m.modules() if c.__class__.__name__ == "Conv2d")
            if mine == shapes:
                return width, depth
    raise SystemExit(f"{onnx_path}: not an export of this project's detector (no width and depth match)")


def write_model_toml(path: Path, name: str, version: str, imgsz: int, classes: list[dict], base: dict,
                     how: str) -> None:
    inp = base.get("input", {})
    nms = base.get("nms", {})
    lines = [
        f"# {name}: the project's detector trained on your own data by tools/train/own_data.py,",
        f"# {how}.",
        "# Thresholds were chosen on the validation split by thresholds.py (weapons at their best F1",
        "# within the weapon false-alarm cap on benign validation scans, other classes at their best F1",
        "# within the per-class alarm cap); eval-val.json says what they give.",
        f'name = "{name}"',
        f'version = "{version}"',
        'file = "model.onnx"',
        'layout = "yolov8"',
        f"max_batch = {int(base.get('max_batch', 16))}",
        "",
        "[input]",
        'name = "images"',
        f"width = {imgsz}",
        f"height = {imgsz}",
        f'palette = "{inp.get("palette", "classic")}"',
        f"fill = {int(inp.get('fill', 114))}",
        "",
        "[output]",
        'name = "output0"',
        "# true: each batch also runs mirrored and the two outputs are averaged (twice the work).",
        "flip_average = false",
        "strides = [8, 16, 32]",
        "",
        "[nms]",
        f"iou = {float(nms.get('iou', 0.5))}",
        f"max_detections = {int(nms.get('max_detections', 100))}",
    ]
    for c in classes:
        lines += ["", "[[classes]]", f'name = "{c["name"]}"', f'category = "{c["category"]}"', "threshold = 0.50"]
        if c["nms_iou"] is not None:
            lines.append(f"nms_iou = {c['nms_iou']}")
    path.write_text("\n".join(lines) + "\n")


def write_taxonomy(path: Path, base_dir: Path | None, classes: list[dict]) -> list[str]:
    """Copies the base model's HS headings of the kept classes of undeclared goods; returns the
    goods classes that have none (always a finding)."""
    headings = {}
    if base_dir is not None and (base_dir / "taxonomy.toml").is_file():
        headings = tomllib.loads((base_dir / "taxonomy.toml").read_text()).get("classes", {})
    goods = [c["name"] for c in classes if c["category"] == "undeclared_goods"]
    kept = [g for g in goods if g in headings]
    if kept:
        text = ["# Declared goods under these HS headings cover the class's detections (from the base model)."]
        for g in kept:
            hs = ", ".join(f'"{h}"' for h in headings[g]["hs_headings"])
            text += ["", f"[classes.{g}]", f"hs_headings = [{hs}]"]
        path.write_text("\n".join(text) + "\n")
    elif path.exists():
        path.unlink()
    return [g for g in goods if g not in headings]


def find_binary(given: str | None) -> str:
    if given:
        if not Path(given).is_file():
            raise SystemExit(f"--xray-screen {given}: no such file")
        return given
    for cand in (ROOT / "target" / "release" / "xray-screen",):
        if cand.is_file():
            return str(cand)
    found = shutil.which("xray-screen")
    if not found:
        raise SystemExit("no xray-screen binary for the eval report: build it (`make build`) or give --xray-screen")
    return found


# ----------------------------------------------------------------------------- main

def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    out = Path(args.out)
    name = args.name or out.resolve().name
    work = Path(args.work or ROOT / "runs" / name)
    binary = find_binary(args.binary)

    step(1, "data")
    names = data_classes(args.data)
    init_dir = None
    if args.scratch:
        init_onnx = None
        base_dir = DEFAULT_INIT
    else:
        init = Path(args.init)
        init_onnx = init / "model.onnx" if init.is_dir() else init
        init_dir = init_onnx.parent
        if not init_onnx.is_file():
            raise SystemExit(f"--init {args.init}: no model.onnx there")
        base_dir = init_dir if (init_dir / "model.toml").is_file() else DEFAULT_INIT
    base = tomllib.loads((base_dir / "model.toml").read_text())
    classes, target = resolve_classes(names, args.map, base["classes"])
    class_names = [c["name"] for c in classes]
    train_paths, _ = find_split(args.data, "train")
    if args.val:
        val_paths, _ = find_split(args.val, "val")
        val_names = data_classes(args.val)
        if [norm(n) for n in val_names] != [norm(n) for n in names]:
            raise SystemExit(f"--val names classes {val_names}, --data {names}")
    else:
        val_paths, _ = find_split(args.data, "val")
    if not train_paths:
        raise SystemExit(f"{args.data}: no training images")
    if not val_paths:
        raise SystemExit(f"{args.val or args.data}: no validation images")
    if {p.resolve() for p in train_paths} & {p.resolve() for p in val_paths}:
        print("warning: the validation split shares images with the training split: its thresholds and "
              "eval report will look better than the model is (give a separate --val)")

    for i, n in enumerate(names):
        t = target[i]
        print(f"  data class {i} {n!r} -> " + ("ignored" if t is None else
              f"model class {t} {classes[t]['name']} ({classes[t]['category']})"))
    work.mkdir(parents=True, exist_ok=True)
    tc = prepare(train_paths, target, len(names), work / "train", class_names)
    vc = prepare(val_paths, target, len(names), work / "val", class_names)
    for split, c in (("train", tc), ("val", vc)):
        objs = ", ".join(f"{n} {k}" for n, k in zip(class_names, c["objects"]))
        print(f"  {split}: {c['images']} images ({c['benign']} benign), objects: {objs}"
              + (f"; {c['dropped']} ignored labels dropped" if c["dropped"] else ""))
    missing = [n for n, k in zip(class_names, vc["objects"]) if k == 0]
    if missing:
        print(f"warning: no validation object of {', '.join(missing)}: its threshold is the floor and eval "
              "cannot measure it")

    step(2, "training " + ("from scratch" if init_onnx is None else f"from {init_onnx}"))
    import train  # imported here: torch takes a few seconds to load

    imgsz = args.imgsz or int(base.get("input", {}).get("width", 416))
    train_argv = ["--data", str(work / "train"), "--val", str(work / "val"), "--out", str(work),
                  "--imgsz", str(imgsz), "--epochs", str(args.epochs), "--minutes", str(args.minutes),
                  "--batch", str(args.batch), "--seed", str(args.seed)]
    if init_onnx is not None:
        from init_onnx import onnx_class_count

        if onnx_class_count(str(init_onnx)) != len(base["classes"]):
            raise SystemExit(f"{init_onnx} has {onnx_class_count(str(init_onnx))} classes, the model.toml of "
                             f"{base_dir} {len(base['classes'])}: put the export's model.toml beside it")
        width, depth = infer_arch(init_onnx, len(base["classes"]))
        print(f"  {init_onnx}: width {width}, depth {depth}")
        cmap = ",".join(str(c["init"]) for c in classes)
        train_argv += ["--init", str(init_onnx), "--width", str(width), "--depth", str(depth),
                       "--init-classes", cmap, "--lr", str(args.lr or 3e-4)]
    else:
        train_argv += ["--width", "1.0", "--lr", str(args.lr or 2e-3)]
    train_argv += args.train_arg
    print("  train.py " + " ".join(train_argv), flush=True)
    train.main(train_argv)

    step(3, f"model folder {out}")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(work / "model.onnx", out / "model.onnx")
    shutil.copyfile(work / "train_log.json", out / "train_log.json")
    how = ("fine-tuned from " + str(init_onnx)) if init_onnx is not None else "trained from scratch"
    how += f" on {args.data}"
    write_model_toml(out / "model.toml", name, args.version, imgsz, classes, base, how)
    uncovered = [g for g in write_taxonomy(out / "taxonomy.toml", base_dir, classes)
                 if any(c["name"] == g and c["init"] < 0 for c in classes)]
    if uncovered:
        print(f"  note: {', '.join(uncovered)} (undeclared goods) have no HS headings: every detection is a "
              "finding; add them to taxonomy.toml if a declaration should cover them")
    print(f"  wrote model.onnx, model.toml{', taxonomy.toml' if (out / 'taxonomy.toml').exists() else ''}")

    step(4, "thresholds on the validation split")
    import thresholds
    from evaluate import open_session

    spec = tomllib.loads((out / "model.toml").read_text())
    benign_paths = find_split(args.benign, "val")[0] if args.benign else []
    chosen = thresholds.choose(open_session(out / "model.onnx"), spec, sorted((work / "val" / "images").iterdir()),
                               benign_paths, args.weapon_fa, args.class_fa, args.floor, imgsz)
    thresholds.write_thresholds(out / "model.toml", chosen)

    step(5, "xray-screen eval on the validation split")
    report_path = out / "eval-val.json"
    cmd = [binary, "eval", str(work / "val"), "--models-dir", str(out), "--json", str(report_path)]
    print("  " + " ".join(cmd), flush=True)
    rc = subprocess.run(cmd).returncode
    if rc != 0 or not report_path.is_file():
        raise SystemExit(f"xray-screen eval failed (exit status {rc})")
    report = json.loads(report_path.read_text())

    log = json.loads((out / "train_log.json").read_text())["summary"]
    fa = report["benign_false_alarms"]
    print("\n==== summary ====")
    print(f"model folder: {out} (model {report['model']} {report['model_version']}, {len(classes)} classes, "
          f"input {imgsz}x{imgsz}); serve it with `xray-screen serve --models-dir {out}`")
    print(f"training: {log['epochs']} epochs, {log['images_seen']} images, {log['minutes']:.1f} min; "
          f"work folder {work}")
    print(f"validation ({report['scans']} scans, {report['objects']} objects): mAP@0.5 {report['map50']:.3f}, "
          f"mAP@0.5:0.95 {report['map50_95']:.3f}")
    print(f"{'class':<16}{'category':<18}{'objects':>8}{'threshold':>10}{'precision':>10}{'recall':>8}")
    for c in report["classes"]:
        p = "-" if c["precision"] is None else f"{c['precision']:.3f}"
        r = "-" if c["recall"] is None else f"{c['recall']:.3f}"
        print(f"{c['name']:<16}{c['category']:<18}{c['objects']:>8}{c['threshold']:>10.2f}{p:>10}{r:>8}")
    if fa["benign_scans"]:
        print(f"benign validation scans: {fa['benign_scans']}, weapon false alarms {fa['weapon'] / fa['benign_scans']:.1%}, "
              f"any alarm {fa['any'] / fa['benign_scans']:.1%}")
    else:
        print("no benign validation scan: false alarms not measured")
    print(f"eval report: {report_path}; done in {(time.time() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
