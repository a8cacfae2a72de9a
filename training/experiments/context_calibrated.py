"""EXPERIMENT (issue 4): the container-kNN (c0, c1) rarity score, calibrated per kind of load
on honest train scans only. Dense heterogeneous loads (machinery, vehicles, scrap) are full of
rare blocks, so the same raw score means less there. The goods classifier (trained on honest
scans) names each container's main category (most tiles, empty excluded); the block score is
divided by the q-quantile of the container max scores of honest train containers with that main
category (all honest train containers when a category has fewer than 3).

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_calibrated.py val"""
import sys

import numpy as np
import torch

from training.common import DATA, taxonomy_ids
from training.experiments.context_embed import cached as cached_emb
from training.experiments.context_post import cached_maps
from training.experiments.context_scores import CACHE, by_kind, evaluate
from training.models import GoodsClassifier

torch.set_num_threads(1)


def main_category(net, emb: np.ndarray) -> int:
    with torch.no_grad():
        pred = net.head(torch.from_numpy(emb)).argmax(1).numpy()
    loaded = pred[pred != 0]  # 0 = empty
    return int(np.bincount(loaded).argmax()) if len(loaded) else 0


def load(split: str, net):
    rows = list(np.load(CACHE / f"{split}.npy", allow_pickle=True))
    maps = cached_maps(split, rows)
    embs = cached_emb(split, net)
    for r, m, e in zip(rows, maps, embs):
        assert (r["scan"], r["container"]) == (e["scan"], e["container"])
        r["cknn"], r["main"] = torch.from_numpy(m), main_category(net, e["emb"])
    return rows


if __name__ == "__main__":
    net = GoodsClassifier(len(taxonomy_ids()))
    net.load_state_dict(torch.load(DATA / "classifier.pt", map_location="cpu"))
    net.eval()
    train = load("train", net)
    rows = load(sys.argv[1], net)
    for q in (0.5, 0.9):
        allmax = np.array([float(r["cknn"].max()) for r in train])
        scale = {c: np.quantile(v, q) if len(v) >= 3 else np.quantile(allmax, q)
                 for c in range(len(taxonomy_ids()))
                 for v in [np.array([float(r["cknn"].max()) for r in train if r["main"] == c])]}
        row_fn = lambda r: r["cknn"] / (scale[r["main"]] + 1e-3)
        evaluate(rows, f"cknn_cal_q{q}", None, row_fn)
        print("   ", by_kind(rows, None, row_fn), flush=True)
