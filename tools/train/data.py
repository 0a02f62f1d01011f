"""Data sets in YOLO layout, letterboxing exactly like the service, RAM preloading and the
on-the-fly augmentation used in training.

Layouts understood (see `find_split`):
  DIR/images/<id>.png + DIR/labels/<id>.txt (+ DIR/classes.txt)
  DIR/data.yaml with `train:` / `val:` image folders (labels in the sibling folder found by
  replacing `/images/` with `/labels/` in the path), optional `path:` and `names:`.
Label lines: `class cx cy w h`, normalised 0..1; an empty or missing file is a benign scan.
"""

from __future__ import annotations

import io
import math
import os
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from tqdm import tqdm

PAD = 114
IMG_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
DEFAULT_CLASSES = ["firearm", "knife", "ammunition", "drug_package", "cigarettes", "phone", "currency"]


# ----------------------------------------------------------------------------- discovery

def _parse_yaml(path: Path) -> dict:
    """A minimal reader for the flat data.yaml files of the YOLO layout (no PyYAML needed):
    `key: value` lines, `names:` as an inline list or map (`[a, b]`, `{0: a, 1: b}`), a `- name`
    list or an `0: name` map."""
    out: dict = {}
    key = None
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indented = raw[:1] in (" ", "\t")
        s = line.strip()
        if indented and key == "names":
            if s.startswith("- "):
                out.setdefault("names", []).append(s[2:].strip().strip("'\""))
            elif ":" in s:
                i, v = s.split(":", 1)
                out.setdefault("names", {})[int(i)] = v.strip().strip("'\"")
            continue
        if ":" in s:
            key, v = s.split(":", 1)
            key, v = key.strip(), v.strip()
            if v.startswith("{") and v.endswith("}"):
                out[key] = {int(i.strip()): n.strip().strip("'\"") for i, n in
                            (x.split(":", 1) for x in v[1:-1].split(",") if x.strip())}
            elif v.startswith("[") and v.endswith("]"):
                out[key] = [x.strip().strip("'\"") for x in v[1:-1].split(",") if x.strip()]
            elif v:
                out[key] = v.strip("'\"")
    names = out.get("names")
    if isinstance(names, dict):
        out["names"] = [names[i] for i in sorted(names)]
    return out


def label_path_for(img: Path) -> Path:
    s = str(img)
    if "/images/" in s:
        s = s[::-1].replace("/images/"[::-1], "/labels/"[::-1], 1)[::-1]
        return Path(s).with_suffix(".txt")
    return img.parent.parent / "labels" / (img.stem + ".txt")


def _list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMG_EXT)


def find_split(root: str, split: str | None = None) -> tuple[list[Path], list[str]]:
    """Image paths and class names of a data set folder. `split` ("train"/"val") is used
    with data.yaml; a plain images/+labels/ folder is one split."""
    root_p = Path(root)
    if root_p.is_file() and root_p.suffix in (".yaml", ".yml"):
        yaml_path, root_p = root_p, root_p.parent
    else:
        yaml_path = root_p / "data.yaml"
    if yaml_path.exists() and split is not None:
        cfg = _parse_yaml(yaml_path)
        base = Path(cfg.get("path", str(root_p)))
        if not base.is_absolute():
            base = (root_p / base).resolve()
        entry = cfg.get(split) or (cfg.get("valid") if split == "val" else None)
        if not entry:
            raise SystemExit(f"{yaml_path}: no `{split}:` entry")
        entries = entry if isinstance(entry, list) else [entry]
        images: list[Path] = []
        for e in entries:
            p = Path(e)
            p = p if p.is_absolute() else (base / p)
            if not p.exists() and (root_p / e).exists():
                p = root_p / e
            if p.is_file() and p.suffix == ".txt":
                images += [Path(x.strip()) if Path(x.strip()).is_absolute() else base / x.strip()
                           for x in p.read_text().splitlines() if x.strip()]
            else:
                images += _list_images(p)
        names = cfg.get("names") or DEFAULT_CLASSES
        return images, list(names)
    img_dir = root_p / "images"
    if not img_dir.is_dir():
        raise SystemExit(f"{root}: neither images/ nor data.yaml found")
    names = DEFAULT_CLASSES
    cls_file = root_p / "classes.txt"
    if cls_file.exists():
        names = [x.strip() for x in cls_file.read_text().splitlines() if x.strip()]
    return _list_images(img_dir), names


def read_labels(img: Path) -> np.ndarray:
    """[K, 5] float32: class, cx, cy, w, h (normalised)."""
    lp = label_path_for(img)
    if not lp.exists():
        return np.zeros((0, 5), np.float32)
    rows = []
    for line in lp.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5:
            rows.append([float(x) for x in parts[:5]])
    return np.array(rows, np.float32).reshape(-1, 5)


# ----------------------------------------------------------------------------- letterbox

def letterbox_params(w: int, h: int, size: int):
    """Same arithmetic as the service: scale = min(S/w, S/h), scaled size rounded half away
    from zero, padding split with left/top = (S - scaled) // 2."""
    scale = min(size / w, size / h)
    nw = min(max(int(math.floor(w * scale + 0.5)), 1), size)
    nh = min(max(int(math.floor(h * scale + 0.5)), 1), size)
    return scale, nw, nh, (size - nw) // 2, (size - nh) // 2


def letterbox(img: Image.Image, size: int) -> tuple[np.ndarray, tuple]:
    """uint8 [size, size, 3] letterboxed (bilinear, antialiased like the service's resizer)
    and (scale, nw, nh, left, top)."""
    img = img.convert("RGB")
    w, h = img.size
    scale, nw, nh, left, top = letterbox_params(w, h, size)
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BILINEAR)
    out = np.full((size, size, 3), PAD, np.uint8)
    out[top:top + nh, left:left + nw] = np.asarray(img)
    return out, (scale, nw, nh, left, top)


def _load_one(args):
    path, size = args
    with Image.open(path) as im:
        w, h = im.size
        arr, (scale, nw, nh, left, top) = letterbox(im, size)
    lab = read_labels(Path(path))
    boxes = np.zeros((len(lab), 4), np.float32)
    if len(lab):
        cx = lab[:, 1] * nw + left
        cy = lab[:, 2] * nh + top
        bw = lab[:, 3] * nw
        bh = lab[:, 4] * nh
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).astype(np.float32)
    return arr, lab[:, 0].astype(np.int64), boxes, (left, top, left + nw, top + nh), (w, h)


class Preloaded:
    """All images of a split letterboxed to `size` in one uint8 array [N, size, size, 3],
    boxes (x1, y1, x2, y2 in those pixels), classes, content rectangles and source sizes."""

    def __init__(self, paths: list[Path], size: int, workers: int = 2, desc: str = "load"):
        self.paths = paths
        self.size = size
        n = len(paths)
        self.images = np.empty((n, size, size, 3), np.uint8)
        self.classes: list[np.ndarray] = []
        self.boxes: list[np.ndarray] = []
        self.rects: list[tuple] = []
        self.src_sizes: list[tuple] = []
        jobs = [(str(p), size) for p in paths]
        if workers > 1 and n > 16:
            pool = Pool(workers)
            it = pool.imap(_load_one, jobs, chunksize=8)
        else:
            pool = None
            it = map(_load_one, jobs)
        for i, (arr, cls, boxes, rect, src) in enumerate(tqdm(it, total=n, desc=desc, unit="img")):
            self.images[i] = arr
            self.classes.append(cls)
            self.boxes.append(boxes)
            self.rects.append(rect)
            self.src_sizes.append(src)
        if pool is not None:
            pool.close()
            pool.join()

    def __len__(self):
        return len(self.paths)


# ----------------------------------------------------------------------------- augmentation

def _rot90_boxes(boxes: np.ndarray, k: int, size: int) -> np.ndarray:
    """Boxes after np.rot90(img, k) (counter-clockwise) of a size x size image."""
    b = boxes.copy()
    for _ in range(k % 4):
        x1, y1, x2, y2 = b[:, 0].copy(), b[:, 1].copy(), b[:, 2].copy(), b[:, 3].copy()
        # CCW rotation: (x, y) -> (y, size - x)
        b = np.stack([y1, size - x2, y2, size - x1], 1)
    return b


class Augmenter:
    """Turns one preloaded sample into a training image of `out` x `out` pixels."""

    def __init__(self, out: int, scale=(0.6, 1.4), translate=0.1, degrees=0.0, mosaic=0.2,
                 hsv=True, palette=True, gray=0.1, blur=0.15, noise=0.25, jpeg=0.2):
        self.out = out
        self.scale = scale
        self.translate = translate
        self.degrees = degrees
        self.mosaic = mosaic
        self.hsv = hsv
        self.palette = palette
        self.gray = gray
        self.blur = blur
        self.noise = noise
        self.jpeg = jpeg

    def geometric(self, data: Preloaded, i: int, rng: np.random.Generator, out: int, scale_mul: float = 1.0):
        """Dihedral (90 degree rotations, flip), random scale, optional small rotation and
        translation. Returns the uint8 image, a content mask (bool), boxes, classes."""
        img = data.images[i]
        p = data.size
        boxes = data.boxes[i].copy()
        cls = data.classes[i].copy()
        l, t, r, b = data.rects[i]
        mask = np.zeros((p, p), np.uint8)
        mask[t:b, l:r] = 255
        k = int(rng.integers(4))
        if k:
            img = np.rot90(img, k)
            mask = np.rot90(mask, k)
            boxes = _rot90_boxes(boxes, k, p)
        if rng.random() < 0.5:
            img = img[:, ::-1]
            mask = mask[:, ::-1]
            boxes = np.stack([p - boxes[:, 2], boxes[:, 1], p - boxes[:, 0], boxes[:, 3]], 1) if len(boxes) else boxes
        s = rng.uniform(*self.scale) * scale_mul
        f = s * out / p  # cache pixels -> output pixels
        new = max(8, int(round(p * f)))
        f = new / p
        pil = Image.fromarray(np.ascontiguousarray(img)).resize((new, new), Image.BILINEAR)
        pm = Image.fromarray(np.ascontiguousarray(mask)).resize((new, new), Image.NEAREST)
        boxes = boxes * f
        w = h = new
        if self.degrees > 0 and rng.random() < 0.5:
            ang = rng.uniform(-self.degrees, self.degrees)
            pil = pil.rotate(ang, Image.BILINEAR, expand=True, fillcolor=(PAD, PAD, PAD))
            pm = pm.rotate(ang, Image.NEAREST, expand=True, fillcolor=0)
            w2, h2 = pil.size
            a = math.radians(ang)
            ca, sa = math.cos(a), math.sin(a)
            if len(boxes):
                cx0, cy0 = w / 2, h / 2
                xs = boxes[:, [0, 2, 2, 0]] - cx0
                ys = boxes[:, [1, 1, 3, 3]] - cy0
                # PIL rotates counter-clockwise for positive angles (y axis down)
                nx = xs * ca + ys * sa + w2 / 2
                ny = -xs * sa + ys * ca + h2 / 2
                # shrink the enclosing box of the rotated corners a little toward the truth
                bx = np.stack([nx.min(1), ny.min(1), nx.max(1), ny.max(1)], 1)
                ow, oh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
                nw_, nh_ = bx[:, 2] - bx[:, 0], bx[:, 3] - bx[:, 1]
                shrink_w = (nw_ - ow).clip(min=0) * 0.25
                shrink_h = (nh_ - oh).clip(min=0) * 0.25
                boxes = np.stack([bx[:, 0] + shrink_w, bx[:, 1] + shrink_h, bx[:, 2] - shrink_w, bx[:, 3] - shrink_h], 1)
            w, h = w2, h2
        # place centred with a random translation
        tx = (out - w) / 2 + rng.uniform(-self.translate, self.translate) * out
        ty = (out - h) / 2 + rng.uniform(-self.translate, self.translate) * out
        ox, oy = int(round(tx)), int(round(ty))
        canvas = Image.new("RGB", (out, out), (PAD, PAD, PAD))
        cmask = Image.new("L", (out, out), 0)
        canvas.paste(pil, (ox, oy))
        cmask.paste(pm, (ox, oy))
        if len(boxes):
            boxes = boxes + np.array([ox, oy, ox, oy], np.float32)
        return np.asarray(canvas).copy(), np.asarray(cmask) > 0, boxes.astype(np.float32), cls

    def photometric(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.hsv and rng.random() < 0.6:
            hsv = np.asarray(Image.fromarray(img).convert("HSV")).copy()
            if self.palette and rng.random() < 0.5:
                hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(rng.integers(-40, 41))) % 256
            sat = rng.uniform(0.5, 1.4)
            hsv[..., 1] = np.clip(hsv[..., 1] * sat, 0, 255).astype(np.uint8)
            img = np.asarray(Image.fromarray(hsv, "HSV").convert("RGB")).copy()
        if self.palette and rng.random() < 0.2:
            img = img[..., rng.permutation(3)]
        if rng.random() < self.gray:
            g = np.asarray(Image.fromarray(img).convert("L"))
            img = np.repeat(g[..., None], 3, axis=2)
        # brightness / contrast / gamma / per-channel gain through one lookup table per channel
        v = np.arange(256, dtype=np.float32) / 255.0
        gamma = math.exp(rng.uniform(-0.35, 0.35))
        contrast = rng.uniform(0.7, 1.3)
        bright = rng.uniform(-0.12, 0.12)
        luts = []
        for c in range(3):
            gain = rng.uniform(0.9, 1.1) if self.palette else 1.0
            x = np.power(v, gamma)
            x = (x - 0.5) * contrast + 0.5 + bright
            x = x * gain
            luts.append(np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8))
        img = np.stack([luts[c][img[..., c]] for c in range(3)], -1)
        if rng.random() < self.blur:
            img = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.4)))).copy()
        if rng.random() < self.noise:
            sigma = rng.uniform(2, 10)
            noise = rng.standard_normal(img.shape, dtype=np.float32) * sigma
            img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        if rng.random() < self.jpeg:
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, "JPEG", quality=int(rng.integers(35, 91)))
            buf.seek(0)
            img = np.asarray(Image.open(buf).convert("RGB")).copy()
        img = np.ascontiguousarray(img)
        img[~mask] = PAD
        return img

    def __call__(self, data: Preloaded, i: int, rng: np.random.Generator):
        out = self.out
        if self.mosaic > 0 and rng.random() < self.mosaic:
            half = out // 2
            canvas = np.full((out, out, 3), PAD, np.uint8)
            cmask = np.zeros((out, out), bool)
            all_boxes, all_cls = [], []
            idx = [i] + [int(x) for x in rng.integers(len(data), size=3)]
            for q, j in enumerate(idx):
                img, m, boxes, cls = self.geometric(data, j, rng, half, scale_mul=1.15)
                ox, oy = (q % 2) * half, (q // 2) * half
                canvas[oy:oy + half, ox:ox + half] = img
                cmask[oy:oy + half, ox:ox + half] = m
                if len(boxes):
                    bx = np.clip(boxes, 0, half)
                    keep = self._keep(boxes, bx)
                    all_boxes.append(bx[keep] + np.array([ox, oy, ox, oy], np.float32))
                    all_cls.append(cls[keep])
            boxes = np.concatenate(all_boxes) if all_boxes else np.zeros((0, 4), np.float32)
            cls = np.concatenate(all_cls) if all_cls else np.zeros((0,), np.int64)
            img, mask = canvas, cmask
        else:
            img, mask, boxes, cls = self.geometric(data, i, rng, out)
            if len(boxes):
                bx = np.clip(boxes, 0, out)
                keep = self._keep(boxes, bx)
                boxes, cls = bx[keep], cls[keep]
        img = self.photometric(img, mask, rng)
        return img, boxes.astype(np.float32), cls.astype(np.int64)

    @staticmethod
    def _keep(orig: np.ndarray, clipped: np.ndarray) -> np.ndarray:
        a0 = (orig[:, 2] - orig[:, 0]) * (orig[:, 3] - orig[:, 1])
        w = clipped[:, 2] - clipped[:, 0]
        h = clipped[:, 3] - clipped[:, 1]
        return (w >= 2) & (h >= 2) & (w * h >= 0.35 * np.maximum(a0, 1e-6))


class TrainSet:
    """torch Dataset over a Preloaded split; each item's randomness comes from
    (seed, epoch, index) only, so results do not depend on the number of workers."""

    def __init__(self, data: Preloaded, aug: Augmenter, seed: int):
        self.data = data
        self.aug = aug
        self.seed = seed
        self.epoch = 0

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        # i beyond len(self) is a repeated draw (epoch_order): same image, its own randomness.
        rng = np.random.default_rng([self.seed, self.epoch, i])
        return self.aug(self.data, i % len(self.data), rng)


def repeat_factors(classes: list[np.ndarray], nc: int, thresh: float) -> np.ndarray:
    """Repeat-factor sampling (Gupta et al., LVIS, 2019): a class found in a fraction f of the
    training images gets r = max(1, sqrt(thresh / f)), and an image is drawn r times per epoch
    for its rarest class, so rare classes get more gradient without a reweighted loss. Images
    with no objects keep 1."""
    if thresh <= 0:
        return np.ones(len(classes))
    seen = np.zeros(nc)
    for cls in classes:
        seen[np.unique(cls.astype(int))] += 1
    frac = seen / max(1, len(classes))
    per_class = np.where(frac > 0, np.sqrt(thresh / np.maximum(frac, 1e-12)), 1.0)
    per_class = np.maximum(1.0, per_class)
    return np.array([per_class[cls.astype(int)].max() if len(cls) else 1.0 for cls in classes])


def epoch_order(factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One epoch's draws, shuffled: image i floor(r_i) times, plus once more with probability
    frac(r_i). The k-th copy of image i is drawn as i + k * len(factors), so TrainSet gives each
    copy its own augmentation. With every r_i = 1 it is the plain permutation of earlier runs."""
    n = len(factors)
    if np.all(factors == 1.0):
        return rng.permutation(n)
    whole = np.floor(factors).astype(int)
    counts = whole + (rng.random(n) < (factors - whole))
    images = np.repeat(np.arange(n), counts)
    copy = np.arange(len(images)) - np.repeat(np.cumsum(counts) - counts, counts)
    return rng.permutation(images + copy * n)


def image_batch(images) -> "torch.Tensor":
    """HWC uint8 images (a list or an array) as one float NCHW tensor in 0..1."""
    import torch

    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255)


def collate(batch):
    import torch

    imgs = torch.from_numpy(np.stack([b[0] for b in batch])).permute(0, 3, 1, 2).contiguous()
    m = max(1, max(len(b[1]) for b in batch))
    n = len(batch)
    gt_box = torch.zeros(n, m, 4)
    gt_cls = torch.full((n, m), -1, dtype=torch.long)
    for k, (_, boxes, cls) in enumerate(batch):
        if len(boxes):
            gt_box[k, : len(boxes)] = torch.from_numpy(boxes)
            gt_cls[k, : len(cls)] = torch.from_numpy(cls)
    return imgs, gt_cls, gt_box, gt_cls >= 0


def worker_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
