"""EXPERIMENT (issue 4): post-processing of the container-kNN (c0, c1) rarity map of
context_scores.container_knn (k = 5): per-container normalisation and smoothing. The maps are
computed once per split and cached (training/data/experiments/context/<split>_cknn.npy).

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_post.py val"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

from training.experiments.context_scores import CACHE, by_group, by_kind, container_knn, evaluate

torch.set_num_threads(1)


def cached_maps(split: str, rows) -> list:
    path = CACHE / f"{split}_cknn.npy"
    if not path.exists():
        np.save(path, np.array([container_knn(torch.from_numpy(r["f"]), k=5).numpy() for r in rows], dtype=object),
                allow_pickle=True)
    return list(np.load(path, allow_pickle=True))


def norm_q(s: torch.Tensor, q: float) -> torch.Tensor:
    return s / (torch.quantile(s.flatten(), q) + 0.01)


def blur(s: torch.Tensor, k: int) -> torch.Tensor:
    return F.avg_pool2d(s[None, None], k, 1, k // 2, count_include_pad=False)[0, 0][: s.shape[0], : s.shape[1]]


POST = {
    "raw": lambda s: s,
    "blur3": lambda s: blur(s, 3),
    "norm_q95": lambda s: norm_q(s, 0.95),
    "norm_q99": lambda s: norm_q(s, 0.99),
    "blur3_norm_q95": lambda s: norm_q(blur(s, 3), 0.95),
    "sqrt_norm_q95": lambda s: s / (torch.quantile(s.flatten(), 0.95) + 0.01).sqrt(),
}

if __name__ == "__main__":
    split = sys.argv[1]
    rows = list(np.load(CACHE / f"{split}.npy", allow_pickle=True))
    maps = cached_maps(split, rows)
    for r, m in zip(rows, maps):
        r["cknn"] = torch.from_numpy(m)
    for name, post in POST.items():
        if len(sys.argv) > 2 and name not in sys.argv[2:]:
            continue
        row_fn = lambda r, post=post: post(r["cknn"])
        evaluate(rows, f"cknn_{name}", None, row_fn)
        print("   ", by_kind(rows, None, row_fn), flush=True)
        print("    by dose (AUROC, concealment scans, others):", by_group(rows, row_fn, lambda r: r["dose"]))
        print("    by first container length:", by_group(rows, row_fn, lambda r: r["length"]), flush=True)
