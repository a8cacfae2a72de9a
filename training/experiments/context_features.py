"""EXPERIMENT (issue 4), not part of `make models`: block features of every container interior,
for context-based concealment scores. Per scan, per container: a grid of B x B px blocks
(B = 16, 8 cm) with mean c0, mean c1, std c0, and the share of each block inside a concealed
object's box. Cached as training/data/experiments/context/<split>.npy (object arrays, one entry per container).

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_features.py val test train"""
import sys
from pathlib import Path

import numpy as np

from training import preprocess as pp
from training.common import DATA, read_json
from training.dataset import read_png16

B = 16
OUT = DATA / "experiments" / "context"


def container_grid(ch: np.ndarray, box: dict, objects: list) -> dict:
    """Block features over one interior box (whole blocks only)."""
    x0, y0 = box["x0"], box["y0"]
    nx, ny = (box["x1"] - x0) // B, (box["y1"] - y0) // B
    sub = ch[:, y0 : y0 + ny * B, x0 : x0 + nx * B].reshape(2, ny, B, nx, B)
    feats = np.stack([sub[0].mean((1, 3)), sub[1].mean((1, 3)), sub[0].std((1, 3))])
    cover = np.zeros((ny * B, nx * B), np.float32)
    ids = np.full((ny, nx), -1, np.int32)
    for k, o in enumerate(objects):
        b = o["box"]
        m = np.zeros_like(cover)
        m[max(b["y0"] - y0, 0) : max(b["y1"] - y0, 0), max(b["x0"] - x0, 0) : max(b["x1"] - x0, 0)] = 1
        cover = np.maximum(cover, m)
        ids[m.reshape(ny, B, nx, B).mean((1, 3)) > 0] = k
    return {"f": feats.astype(np.float32), "cover": cover.reshape(ny, B, nx, B).mean((1, 3)), "obj": ids}


def split_features(split: str) -> dict:
    rows = []
    for sd in sorted(p for p in (DATA / split).iterdir() if (p / "truth.json").exists()):
        truth = read_json(sd / "truth.json")
        low = read_png16(sd / "low.png") if (sd / "low.png").exists() else None
        ch = pp.channels(read_png16(sd / "high.png"), low)
        for ci, c in enumerate(truth["containers"]):
            g = container_grid(ch, c["interior"], truth["concealed_objects"])
            rows.append({"scan": sd.name, "container": ci, "scenario": truth["scenario"],
                         "dose": truth["dose"], "length": c["length"], "dual": low is not None,
                         "n_objects": len(truth["concealed_objects"]),
                         "kinds": [o["kind"] for o in truth["concealed_objects"]], **g})
    return rows


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for split in sys.argv[1:]:
        rows = split_features(split)
        np.save(OUT / f"{split}.npy", np.array(rows, dtype=object), allow_pickle=True)
        print(split, len(rows), "containers", flush=True)
