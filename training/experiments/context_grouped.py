"""EXPERIMENT (issue 4): in-container rarity among blocks of the SAME goods only.

cknn `raw` compares a block's (c0, c1) with every block of its container, so an honest second kind
of goods looks as rare as hidden goods. Here a block is compared only with blocks of its own goods
category. `oracle` groups by the simulator's label map (hidden goods carry their host's label), an
upper bound for any classifier; `declared` adds what a declaration-aware score would do: a block
whose group is not declared counts as rare.

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_grouped.py val_big [k] [excl]"""
import sys

import numpy as np
import torch

from training.common import DATA, read_json
from training.dataset import read_labels
from training.experiments.context_features import B
from training.experiments.context_scores import CACHE, by_group, by_kind, evaluate, margin, smooth

torch.set_num_threads(1)


def block_labels(split: str, row) -> np.ndarray:
    """Majority label of each B x B block of the row's interior (255 = no goods)."""
    sd = DATA / split / row["scan"]
    box = read_json(sd / "truth.json")["containers"][row["container"]]["interior"]
    lab = read_labels(sd / "labels.png")
    ny, nx = row["f"].shape[1:]
    sub = lab[box["y0"] : box["y0"] + ny * B, box["x0"] : box["x0"] + nx * B].reshape(ny, B, nx, B)
    sub = sub.transpose(0, 2, 1, 3).reshape(ny, nx, B * B)
    out = np.empty((ny, nx), np.int64)
    for y in range(ny):
        for x in range(nx):
            v, c = np.unique(sub[y, x], return_counts=True)
            out[y, x] = v[c.argmax()]
    return out


def grouped_knn(f: torch.Tensor, groups: torch.Tensor, k: int = 5, excl: int = 8, w1: float = 0.25,
                cap: float = 1.0) -> torch.Tensor:
    """Distance to the k-th nearest block of the same group at least `excl` blocks away."""
    g = smooth(torch.stack([f[0], w1 * f[1]]), 3)
    H, W = g.shape[1:]
    x = g.reshape(2, -1).T
    lab = groups.flatten()
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    pos = torch.stack([yy.flatten(), xx.flatten()], 1)
    out = torch.empty(H * W)
    for i in range(0, H * W, 2048):
        d = torch.cdist(x[i : i + 2048], x)
        d[(pos[i : i + 2048, None] - pos[None]).abs().amax(-1) < excl] = float("inf")
        d[lab[i : i + 2048, None] != lab[None]] = float("inf")
        out[i : i + 2048] = d.clamp(max=cap).kthvalue(k, dim=1).values
    return margin(out.view(H, W))


if __name__ == "__main__":
    split = sys.argv[1]
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    excl = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    rows = list(np.load(CACHE / f"{split}.npy", allow_pickle=True))
    for r in rows:
        r["lab"] = torch.from_numpy(block_labels(split, r))
    fn = lambda r: grouped_knn(torch.from_numpy(r["f"]), r["lab"], k=k, excl=excl)
    evaluate(rows, f"oracle_k{k}_e{excl}", None, fn)
    print("   ", by_kind(rows, None, fn), flush=True)
    print("    by dose:", by_group(rows, fn, lambda r: r["dose"]))
    print("    by first container length:", by_group(rows, fn, lambda r: r["length"]), flush=True)
