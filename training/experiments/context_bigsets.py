"""EXPERIMENT (issue 4): why scores drop from val/test to val_big/test_big. The big splits' honest
scans are the simulator's random mix (half of them hold 2-3 kinds of goods, a third are 2 x 20 ft),
while val/test's are mostly one category per scan. Prints the AUROC of all concealment scans
against subsets of the honest scans, and across splits, for the cknn raw score (cached maps of
context_post.py) or the learned `z` score (context_learned.py, big splits only).

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_bigsets.py [cknn | learned_z]"""
import sys

import numpy as np
import torch

from training.common import DATA, read_json
from training.experiments.context_learned import OUT, SCORES
from training.experiments.context_scores import CACHE, auroc, margin

MAPS = {"cknn": lambda split: (CACHE / f"{split}_cknn.npy", lambda m: m),
        "learned_z": lambda split: (OUT / f"{split}_learned_p6.npy", lambda q: margin(SCORES["z"](torch.from_numpy(q))).numpy())}


def scan_scores(split: str, score: str) -> list:
    """(scan max of the score map, concealment?, goods entries, containers) per scan."""
    path, fn = MAPS[score](split)
    best = {}
    for r, m in zip(np.load(CACHE / f"{split}.npy", allow_pickle=True), np.load(path, allow_pickle=True)):
        best[r["scan"]] = max(best.get(r["scan"], -np.inf), float(fn(m).max()))
    out = []
    for scan, v in best.items():
        t = read_json(DATA / split / scan / "truth.json")
        out.append((v, t["scenario"] == "concealment", sum(len(c["contents"]) for c in t["containers"]), len(t["containers"])))
    return out


if __name__ == "__main__":
    score = sys.argv[1] if len(sys.argv) > 1 else "cknn"
    splits = ("val", "test", "val_big", "test_big") if score == "cknn" else ("val_big", "test_big")
    s = {k: scan_scores(k, score) for k in splits}
    subsets = {"all honest": lambda g, n: True, "one kind of goods": lambda g, n: g <= 1,
               "2-3 kinds": lambda g, n: g >= 2, "one container": lambda g, n: n == 1, "2 x 20 ft": lambda g, n: n == 2}
    for pos, neg in [("val", "val"), ("test", "test"), ("val_big", "val_big"), ("test_big", "test_big"),
                     ("val_big", "val"), ("test_big", "test"), ("val", "val_big"), ("test", "test_big")]:
        if pos not in s or neg not in s:
            continue
        p = [v for v, c, _, _ in s[pos] if c]
        cells = []
        for name, keep in subsets.items():
            n = [v for v, c, g, k in s[neg] if not c and keep(g, k)]
            cells.append(f"{name} {auroc(p, n):.3f} ({len(n)})")
        print(f"concealment of {pos:8s} ({len(p)}) vs honest of {neg:8s}: " + ", ".join(cells), flush=True)
