"""Mismatch triage from tile votes or from votes along the load's stacks (issue 4).

The pipeline counts goods by tile: each 32 cm tile votes for its most probable category, and
triage counts a category as seen when it covers `min_share` of a container's load with a mean
confidence of `min_confidence` (src/triage). Cargo stands in stacks from floor to roof, one
kind of goods per stack, so a column of tiles is one decision, not ten. This script compares,
on the classifier's real outputs (onnxruntime, the committed model):

- `tiles`: the pipeline's rule (a Python copy of src/triage's goods rules);
- `columns`: the loaded tiles of one tile column add up their probabilities ("empty" left
  out), and all of them count for the category that wins, with its share as confidence;
- `columns_wN`: the same, each column's sum taken together with N columns on each side
  (`columns_w2` is what the pipeline does now, src/inference/composition.rs).

Scenarios: undeclared, misdeclared and declared-empty-but-loaded scans are misdeclarations;
honest scans are honest declarations (as `scantriage eval`). Tiles are cut over the simulator's
interior boxes, not located ones, and the declaration is taken for the whole scan (items that
name their container are not told apart), so figures differ slightly from `scantriage eval`.
Prints, per counting, share bar and confidence bar: misdeclarations flagged, honest flagged.

Usage:
  PYTHONPATH=. python training/experiments/goods_columns.py cache goods_val mix_val val_big   # ~3 min
  PYTHONPATH=. python training/experiments/goods_columns.py sweep goods_val mix_val val_big
"""

import pickle
import sys
import tomllib

import numpy as np
import onnxruntime as ort

from training import preprocess as pp
from training.common import DATA, MODELS, TAXONOMY_FILE, read_json
from training.dataset import read_png16

CACHE = DATA / "experiments" / "goods"
MISDECLARED = {"undeclared", "misdeclared", "declared_empty_but_loaded"}
EMPTY = 0


def hs_category(prefixes: list[tuple[str, int]], code: str) -> int | None:
    best = max((p for p in prefixes if code.startswith(p[0])), key=lambda p: len(p[0]), default=None)
    return best[1] if best else None


def cache(split: str) -> None:
    with open(TAXONOMY_FILE, "rb") as f:
        cats = tomllib.load(f)["category"]
    prefixes = [(p, i) for i, c in enumerate(cats) for p in c["hs_prefixes"]]
    session = ort.InferenceSession(str(MODELS / "classifier.onnx"), providers=["CPUExecutionProvider"])
    scans = []
    for truth_path in sorted((DATA / split).glob("*/truth.json")):
        truth = read_json(truth_path)
        if truth["scenario"] not in MISDECLARED | {"honest"}:
            continue
        meta = read_json(truth_path.parent / "meta.json")
        low = truth_path.parent / "low.png"
        chans = pp.channels(read_png16(truth_path.parent / "high.png"), read_png16(low) if low.exists() else None)
        containers = []
        for c in truth["containers"]:
            origins = pp.box_origins(c["interior"])
            probs = session.run(None, {"tiles": pp.cut_tiles(chans, origins)})[0]
            containers.append({"origins": np.array(origins), "probs": probs})
        declared = {hs_category(prefixes, item["hs_code"]) for item in meta["declaration"]["items"]}
        scans.append({
            "name": truth_path.parent.name, "scenario": truth["scenario"],
            "declared": declared, "empty": meta["declaration"]["empty"], "containers": containers,
        })
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{split}.pkl", "wb") as f:
        pickle.dump(scans, f)
    print(split, len(scans), "scans")


def tile_votes(container: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per category: loaded tiles voting for it, and the sum of their winning probabilities."""
    probs = container["probs"]
    best = probs.argmax(axis=1)
    counts = np.bincount(best, minlength=probs.shape[1]).astype(float)
    conf = np.bincount(best, weights=probs.max(axis=1), minlength=probs.shape[1])
    return counts, conf


def column_votes(container: dict, window: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per category: loaded tiles of the columns voting for it, and their confidence mass."""
    probs, origins = container["probs"], container["origins"]
    n_cat = probs.shape[1]
    loaded = probs.argmax(axis=1) != EMPTY
    xs = np.unique(origins[:, 1])
    col_sum = np.zeros((len(xs), n_cat))
    col_n = np.zeros(len(xs))
    for i, x in enumerate(xs):
        sel = (origins[:, 1] == x) & loaded
        col_sum[i] = probs[sel].sum(axis=0)
        col_n[i] = sel.sum()
    counts = np.zeros(n_cat)
    conf = np.zeros(n_cat)
    # empty tiles still count (as empty) so that the loaded share stays the pipeline's
    counts[EMPTY] = (~loaded).sum()
    conf[EMPTY] = probs[~loaded, EMPTY].sum()
    for i in range(len(xs)):
        if col_n[i] == 0:
            continue
        lo, hi = max(0, i - window), min(len(xs), i + window + 1)
        total = col_sum[lo:hi].sum(axis=0)
        total[EMPTY] = 0.0
        p = total / max(total.sum(), 1e-9)
        best = int(p.argmax())
        counts[best] += col_n[i]
        conf[best] += p[best] * col_n[i]
    return counts, conf


def composition(counts: np.ndarray, conf: np.ndarray) -> list[tuple[int, float, float]]:
    loaded = counts.sum() - counts[EMPTY]
    return [(i, counts[i] / loaded, conf[i] / counts[i]) for i in range(len(counts)) if i != EMPTY and counts[i] > 0 and loaded > 0]


def flagged(scan: dict, votes, min_share: float, min_conf: float, not_seen_below: float = 0.05, loaded_above: float = 0.04) -> bool:
    per = [votes(c) for c in scan["containers"]]
    total_counts = sum(p[0] for p in per)
    total_conf = sum(p[1] for p in per)
    loaded = any((c[0].sum() - c[0][EMPTY]) / c[0].sum() >= loaded_above for c in per)
    comps = [composition(total_counts, total_conf)]
    if len(per) > 1:
        comps += [composition(*p) for p in per]
    seen = {i for comp in comps for i, s, c in comp if s >= min_share and c >= min_conf}
    if scan["empty"]:
        return loaded
    if seen - scan["declared"]:
        return True
    whole = {i: s for i, s, _ in comps[0]}
    return loaded and any(whole.get(d, 0.0) < not_seen_below for d in scan["declared"] if d is not None)


VARIANTS = {
    "tiles": tile_votes,
    "columns": column_votes,
    "columns_w1": lambda c: column_votes(c, 1),
    "columns_w2": lambda c: column_votes(c, 2),
    "columns_w3": lambda c: column_votes(c, 3),
}

SHARES = (0.02, 0.03, 0.05, 0.08, 0.10)
CONFIDENCES = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


def sweep(splits: list[str], names: list[str]) -> None:
    scans = []
    for split in splits:
        with open(CACHE / f"{split}.pkl", "rb") as f:
            scans += pickle.load(f)
    mis = [s for s in scans if s["scenario"] in MISDECLARED]
    honest = [s for s in scans if s["scenario"] == "honest"]
    print(f"{len(mis)} misdeclarations, {len(honest)} honest declarations ({', '.join(splits)})")
    for name in names or VARIANTS:
        votes = VARIANTS[name]
        for share in SHARES:
            row = []
            for conf in CONFIDENCES:
                caught = sum(flagged(s, votes, share, conf) for s in mis)
                false = sum(flagged(s, votes, share, conf) for s in honest)
                row.append(f"{conf:.2f}: {caught:3d} {false:2d}")
            print(f"{name:12s} share {share:.2f}  " + "   ".join(row))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "cache":
        for split in args:
            cache(split)
    else:
        splits = [a for a in args if (CACHE / f"{a}.pkl").exists()]
        sweep(splits, [a for a in args if a in VARIANTS])
