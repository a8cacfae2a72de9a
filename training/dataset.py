"""Tiles of a split's simulated scans, with labels and ground-truth annotations, cached as .npz.

Per tile: `tiles` [n, 2, 64, 64] float32 (preprocess.py), `label` (taxonomy index, majority of
labels.png), `purity`, `scan` (index into `scan_names`), `dual` (dual-energy scan),
`concealed` (share of the tile covered by a concealed object's box, 0 when none), `object`
(global id of the concealed object overlapping the tile most, -1 when none; its kind is
`object_kinds[id]`) and `honest`.

Usage: python -m training.dataset SPLIT...   (builds these splits' caches)
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from training import preprocess as pp
from training.common import DATA, ROOT, read_json, taxonomy_ids

FIELDS = ["label", "purity", "scan", "dual", "concealed", "object", "honest"]


def read_png16(path: Path) -> np.ndarray:
    """A 16-bit grayscale PNG as uint16 [H, W] (Pillow opens it in mode I;16 or I)."""
    with Image.open(path) as img:
        if img.mode not in ("I;16", "I;16B", "I"):
            raise ValueError(f"{path}: mode {img.mode}, expected 16-bit grayscale")
        return np.asarray(img).astype(np.uint16)


def read_labels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("L") if img.mode != "L" else img).astype(np.uint8)


def overlap(origin: tuple[int, int], box: dict) -> float:
    """Share of the tile at (y, x) covered by a box."""
    y, x = origin
    w = min(x + pp.TILE_SIZE, box["x1"]) - max(x, box["x0"])
    h = min(y + pp.TILE_SIZE, box["y1"]) - max(y, box["y0"])
    return max(w, 0) * max(h, 0) / float(pp.TILE_SIZE * pp.TILE_SIZE)


def label_index_map(truth: dict) -> np.ndarray:
    """Maps labels.png values (indices into truth['labels']) to taxonomy indices; 255 stays."""
    ids = taxonomy_ids()
    lut = np.full(256, 255, dtype=np.int64)
    for i, name in enumerate(truth["labels"]):
        lut[i] = ids.index(name)
    return lut


def scan_tiles(scan_dir: Path, scan_index: int, object_base: int) -> dict:
    """Every tile of every container of one scan, with its annotations."""
    truth = read_json(scan_dir / "truth.json")
    low_path = scan_dir / "low.png"
    low = read_png16(low_path) if low_path.exists() else None
    chans = pp.channels(read_png16(scan_dir / "high.png"), low)
    labels = label_index_map(truth)[read_labels(scan_dir / "labels.png")]
    origins = [o for c in truth["containers"] for o in pp.box_origins(c["interior"])]
    majority, purity = pp.tile_labels(labels.astype(np.uint8), origins)
    boxes = [o["box"] for o in truth["concealed_objects"]]
    cover = np.array([[overlap(o, b) for b in boxes] for o in origins]).reshape(len(origins), len(boxes))
    best = cover.argmax(axis=1) if boxes else np.zeros(len(origins), dtype=np.int64)
    concealed = cover.max(axis=1) if boxes else np.zeros(len(origins))
    n = len(origins)
    return {
        "tiles": pp.cut_tiles(chans, origins), "label": majority, "purity": purity,
        "scan": np.full(n, scan_index), "dual": np.full(n, low is not None),
        "concealed": concealed.astype(np.float32),
        "object": np.where(concealed > 0, best + object_base, -1),
        "honest": np.full(n, truth["scenario"] == "honest"),
        "kinds": [o["kind"] for o in truth["concealed_objects"]],
    }


def build_split(split: str) -> dict:
    """Tiles of every scan of a split, concatenated."""
    scans = sorted(p for p in (DATA / split).iterdir() if (p / "truth.json").exists())
    parts, kinds = [], []
    for i, scan_dir in enumerate(scans):
        part = scan_tiles(scan_dir, i, len(kinds))
        kinds += part.pop("kinds")
        parts.append(part)
    out = {k: np.concatenate([p[k] for p in parts]) for k in ["tiles", *FIELDS]}
    out["scan_names"] = np.array([s.name for s in scans])
    out["object_kinds"] = np.array(kinds, dtype=str)
    return out


def load_split(split: str) -> dict:
    """The split's tiles, from its cache (`cached`)."""
    with np.load(cached(split)) as f:
        return {k: f[k] for k in f.files}


def cached(split: str) -> Path:
    """The split's tile cache, built first unless it is newer than the split (its job list, or
    the directory itself for a set made by hand without one)."""
    cache = cache_path(split)
    jobs = DATA / split / "jobs.json"
    made = (jobs if jobs.exists() else DATA / split).stat().st_mtime
    if not cache.exists() or cache.stat().st_mtime < made:
        # In a child process: glibc keeps the build's freed per-scan arrays in the heap, which
        # left the caller about 5 GB a split larger for its whole run (make models peaked at
        # 21.6 GB of the machine's 24).
        subprocess.run([sys.executable, "-m", "training.dataset", split], cwd=ROOT, check=True,
                       env={**os.environ, "SCANTRIAGE_DATA": str(DATA)})
    return cache


def cache_path(split: str) -> Path:
    return DATA / f"{split}_tiles.npz"


def write_cache(split: str) -> None:
    remove_abandoned(split)
    cache = cache_path(split)
    # Written aside and renamed, so that two runs building it at once never read a half file.
    partial = cache.with_suffix(f".{os.getpid()}.npz")
    try:
        np.savez(partial, **build_split(split))
        partial.replace(cache)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


class StackedTiles:
    """The tiles of several splits, read by row as if concatenated: a concatenation would hold
    every split's tiles (over 5 GB each) twice at its peak."""

    def __init__(self, parts: list[np.ndarray]):
        self.parts = parts
        self.starts = np.cumsum([0] + [len(p) for p in parts])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows)
        part = np.searchsorted(self.starts, rows, side="right") - 1
        out = np.empty((len(rows), *self.parts[0].shape[1:]), dtype=self.parts[0].dtype)
        for k in np.unique(part):
            out[part == k] = self.parts[k][rows[part == k] - self.starts[k]]
        return out


def load_stacked(names: list[str], dtype: type = np.float32) -> dict:
    """`tiles` (StackedTiles, as `dtype`) and `honest` of these splits. Every cache is built
    before any is loaded, since a build holds its split's tiles twice."""
    for name in names:
        cached(name)
    tiles, honest = [], []
    for name in names:  # one split at a time: each is converted while the others are not yet read
        split = load_split(name)
        tiles.append(split.pop("tiles").astype(dtype, copy=False))
        honest.append(split["honest"])
    return {"tiles": StackedTiles(tiles), "honest": np.concatenate(honest)}


def remove_abandoned(split: str) -> None:
    """Removes side files of cache writes whose process has died (killed mid-write: ~5 GB each
    for the train split)."""
    for side in DATA.glob(f"{split}_tiles.*.npz"):
        pid = side.suffixes[0][1:]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            side.unlink(missing_ok=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m training.dataset SPLIT...")
    for name in sys.argv[1:]:
        write_cache(name)
