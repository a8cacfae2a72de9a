"""EXPERIMENT (issue 4): PatchCore-style memory bank of block-patch descriptors from honest
train containers, with and without context (the patch minus the median of a ring of blocks
24-48 cm around it, plus that median). Score = distance to the nearest bank entry; scan score
= max. Uses the block features of context_features.py and the metrics of context_scores.py.

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_bank.py val"""
import sys
import time

import numpy as np
import torch

from training.experiments.context_scores import CACHE, evaluate, margin, patches, ring_median, smooth

torch.set_num_threads(1)
torch.manual_seed(0)
P, STEP, BANK = 4, 2, 20000
C1_WEIGHT = 0.25


def descriptors(f: torch.Tensor, mode: str) -> torch.Tensor:
    """[H, W, D] descriptor of the P x P block patch at each block."""
    g = torch.stack([f[0], C1_WEIGHT * f[1]])
    d = patches(g, P)
    if mode == "plain":
        return d
    ctx = ring_median(smooth(g, 3), 6, 2)  # [2, H, W]
    ctx_d = ctx.permute(1, 2, 0).repeat_interleave(P * P, dim=2)  # per channel, P*P copies
    return torch.cat([d - ctx_d, ctx.permute(1, 2, 0)], dim=2) if mode == "context" else d - ctx_d


def build_bank(rows, mode: str) -> torch.Tensor:
    ds = [descriptors(torch.from_numpy(r["f"]), mode)[::STEP, ::STEP] for r in rows if r["scenario"] == "honest"]
    d = torch.cat([x.reshape(-1, x.shape[-1]) for x in ds])
    idx = torch.randperm(len(d))[:BANK]
    return d[idx]


def knn_score(bank: torch.Tensor, mode: str):
    def fn(f: torch.Tensor) -> torch.Tensor:
        d = descriptors(f, mode)
        H, W, D = d.shape
        q = d.reshape(-1, D)
        out = torch.cat([torch.cdist(q[i : i + 4096], bank).amin(1) for i in range(0, len(q), 4096)])
        return margin(out.view(H, W))
    return fn


if __name__ == "__main__":
    train = list(np.load(CACHE / "train.npy", allow_pickle=True))
    rows = list(np.load(CACHE / f"{sys.argv[1]}.npy", allow_pickle=True))
    for mode in sys.argv[2:] or ["plain", "context", "diff"]:
        t = time.time()
        bank = build_bank(train, mode)
        evaluate(rows, f"bank_{mode}", knn_score(bank, mode))
        print(f"  ({time.time() - t:.0f} s)", flush=True)
