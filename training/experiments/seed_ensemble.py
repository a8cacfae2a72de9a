"""EXPERIMENT (issue 4): 1.2.4's recipe trained with other seeds, alone and averaged with 1.2.4.

An honest scan alarms when one of its ~100 000 map cells does, so its stray peaks set the
threshold. Networks trained from other seeds should agree on added material and less on where
they stray; averaging their maps would then lower the honest peaks more than the concealed ones.
Each run is `train_anomaly.fit` with another seed on one thread (two run at once), exported as
anomaly.onnx is; region_rules.py replays the maps (REGIONS_MODELS: several files, averaged).

    train SEED        fit and export to DATA/experiments/seeds/SEED/anomaly.onnx (42-57 min
                      on one thread, two at a time)
    combine CACHE...  the shipped rule on the cell-wise min, median and mean of the cached
                      single-model grids (region_rules.py maps; max over overlapping tiles)

PYTHONPATH=. training/.venv/bin/python training/experiments/seed_ensemble.py train 4322
"""
import sys
import time

import numpy as np
import torch

from training import train_anomaly
from training.common import DATA
from training.experiments import region_rules
from training.export import export_onnx
from training.models import SegmenterExport

OUT = DATA / "experiments" / "seeds"


def train(seed: int) -> None:
    t0 = time.time()
    out = OUT / str(seed)
    out.mkdir(parents=True, exist_ok=True)
    net, _ = train_anomaly.fit(seed=seed, threads=1)
    torch.save(net.state_dict(), out / "anomaly.pt")
    export_onnx(SegmenterExport(net, train_anomaly.TOP_K), out / "anomaly.onnx", ["anomaly_map", "score"])
    print(f"seed {seed}: {out / 'anomaly.onnx'} in {time.time() - t0:.0f} s", flush=True)


def combined(split: str, caches: list[str], how) -> list[dict]:
    per_model = [region_rules.load(split, DATA / "experiments" / c) for c in caches]
    return [dict(scans[0], top=how(np.stack([s["top"] for s in scans]), axis=0)) for scans in zip(*per_model)]


def combine(caches: list[str]) -> None:
    for name, how in [("min", np.min), ("median", np.median), ("mean", np.mean)]:
        honest = [s for split in region_rules.CALIBRATION for s in combined(split, caches, how) if s["scenario"] == "honest"]
        sets = {split: combined(split, caches, how) for split in ["val_big", "mix_val"]}
        print(f"{name:6s}", region_rules.report(region_rules.RULES[0], honest, sets), flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["help"]
    if command == "train" and len(args) == 1:
        train(int(args[0]))
    elif command == "combine" and args:
        combine(args)
    else:
        sys.exit(__doc__)
