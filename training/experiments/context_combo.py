"""EXPERIMENT (issue 4): two context cues together: the container-kNN (c0, c1) rarity
(context_post, cached maps) and the dual-energy difference against its ring (ring_c1+m+norm of
context_scores). Each is divided by its 99th percentile over the blocks of honest TRAIN
containers, then summed or max-ed.

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_combo.py val"""
import sys

import numpy as np
import torch

from training.experiments.context_post import cached_maps
from training.experiments.context_scores import CACHE, SCORES, by_kind, evaluate

torch.set_num_threads(1)
RING = SCORES["ring_c1+m+norm"]


def load(split: str):
    rows = list(np.load(CACHE / f"{split}.npy", allow_pickle=True))
    for r, m in zip(rows, cached_maps(split, rows)):
        r["cknn"], r["ring"] = torch.from_numpy(m), RING(torch.from_numpy(r["f"]))
    return rows


if __name__ == "__main__":
    train = [r for r in load("train") if r["scenario"] == "honest"]
    q = {k: float(np.quantile(np.concatenate([r[k].numpy().ravel() for r in train]), 0.99)) for k in ("cknn", "ring")}
    rows = load(sys.argv[1])
    for name, row_fn in {
        "sum": lambda r: r["cknn"] / q["cknn"] + r["ring"] / q["ring"],
        "max": lambda r: torch.maximum(r["cknn"] / q["cknn"], r["ring"] / q["ring"]),
    }.items():
        evaluate(rows, f"cknn+ring_{name}", None, row_fn)
        print("   ", by_kind(rows, None, row_fn), flush=True)
