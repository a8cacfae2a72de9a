"""EXPERIMENT (issue 4): judge each tile's anomaly peak against honest tiles of the same goods.

The segmenter's honest maxima sit in some goods more than others (scrap metal, wood, tyres,
foodstuffs). Here a tile's peak cell (as a logit) is reduced by the (1 - alpha) quantile of
the honest validation tiles that the classifier puts in the same category, and a scan's score
is its largest normalised tile. Uses the trained anomaly.pt and classifier.pt in training/data;
prints how high the scans without concealment score, and the scan-level AUROC (scans with a
concealed object against the rest) without and with the normalisation.

PYTHONPATH=. training/.venv/bin/python training/experiments/category_normalised.py val_big   # ~3 min
"""
import sys

import numpy as np
import torch

from training.common import DATA, taxonomy_ids
from training.dataset import load_split
from training.models import DefectSegmenter, GoodsClassifier, SegmenterExport
from training.train_anomaly import TOP_K, peaks
from training.train_classifier import predict

ALPHAS = [0.001, 0.005, 0.02, 0.1]
MIN_TILES = 50  # categories with fewer honest validation tiles use the quantile of all of them


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def tile_scores(split: str, anomaly: SegmenterExport, classifier: GoodsClassifier) -> dict:
    d = load_split(split)
    return {"peak": logit(peaks(anomaly, d["tiles"])), "goods": predict(classifier, d["tiles"]).argmax(1),
            "scan": d["scan"], "honest": d["honest"], "object": d["object"]}


def category_quantiles(val: dict, alpha: float, categories: int) -> np.ndarray:
    honest = val["honest"]
    q = np.full(categories, np.quantile(val["peak"][honest], 1 - alpha))
    for c in range(categories):
        mine = honest & (val["goods"] == c)
        if mine.sum() >= MIN_TILES:
            q[c] = np.quantile(val["peak"][mine], 1 - alpha)
    return q


def scan_best(s: dict, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each scan's largest tile score, and whether the scan holds a concealed object."""
    scans = np.unique(s["scan"])
    best = np.array([score[s["scan"] == i].max() for i in scans])
    return best, np.array([(s["object"][s["scan"] == i] >= 0).any() for i in scans])


def auroc(s: dict, score: np.ndarray) -> float:
    best, concealed = scan_best(s, score)
    pos, neg = best[concealed], best[~concealed]
    return float(((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None])).mean())


def main(split: str) -> None:
    torch.set_num_threads(2)
    categories = len(taxonomy_ids())
    net = DefectSegmenter()
    net.load_state_dict(torch.load(DATA / "anomaly.pt"))
    anomaly = SegmenterExport(net, TOP_K).eval()
    classifier = GoodsClassifier(categories)
    classifier.load_state_dict(torch.load(DATA / "classifier.pt"))
    val, target = tile_scores("val", anomaly, classifier), tile_scores(split, anomaly, classifier)
    best, concealed = scan_best(target, target["peak"])
    clean = 1 / (1 + np.exp(-best[~concealed]))
    print(f"{split}: scans without concealment, largest cell: median {np.median(clean):.3f}, "
          f"{(clean > 0.9).sum()} of {len(clean)} above 0.9")
    print(f"{split}: AUROC of the largest cell {auroc(target, target['peak']):.3f}")
    for alpha in ALPHAS:
        q = category_quantiles(val, alpha, categories)
        print(f"  normalised by the honest {1 - alpha:.1%} quantile of its goods: {auroc(target, target['peak'] - q[target['goods']]):.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "val_big")
