"""EXPERIMENT (issue 4): a fourth portion of honest scans, the training tiles held as float16.

Anomaly model 1.4.0 learns from train, train_more and train_third (three portions of 408 honest
scans, float32). `train_fourth` repeats train's jobs once more from seeds 160000+; four splits'
tiles are 21 GB as float32, of the machine's 24, so these runs hold them as float16 (10.6 GB).
Each batch becomes float32 before its synthetic defects are added (train_anomaly.train_epoch).

Rule, fixed before any network was trained (training/experiments/README.md, "A fourth portion
of honest scans, held as float16"): over seeds 4321 and 4325, against 1.4.0's recipe (maps
thrice_maps/t4321 and t4325), the three clauses of thrice_scans.py's rule. It failed: more
objects localised, as many clean scans alarmed, a lower mean AUROC alone. Nothing was shipped.

    data        simulate train_fourth and build its tile cache (5.3 GB)
    train SEED  fit on the four splits as float16 (16 GB at its peak), export
                DATA/experiments/four_times/SEED/anomaly.onnx
    half SEED   fit on 1.4.0's three splits as float16, export DATA/experiments/half_tiles/SEED/:
                what float16 alone does, set against 1.4.0's recipe of the same seed
    rule        the rule, on the maps of four_maps/f4321 and f4325
                (region_rules.py maps val calib calib_more val_big mix_val, with REGIONS_MODELS)

PYTHONPATH=. training/.venv/bin/python training/experiments/four_times.py data
"""
import sys

import numpy as np

from training import datagen
from training.common import DATA, keep_freed_memory
from training.dataset import load_stacked
from training.experiments import thrice_scans

SPLIT = "train_fourth"
SEED_BASE = 160000
SPLITS = [*thrice_scans.SPLITS, SPLIT]
TILE_DTYPE = np.float16
OUT = DATA / "experiments" / "four_times"
HALF_OUT = DATA / "experiments" / "half_tiles"


if __name__ == "__main__":
    keep_freed_memory()
    command, *args = sys.argv[1:] or ["help"]
    if command == "data" and not args:
        thrice_scans.data(SPLIT, datagen.repeated_jobs("train", SEED_BASE, 1))
    elif command == "train" and len(args) == 1:
        thrice_scans.train(int(args[0]), OUT, load_stacked(SPLITS, TILE_DTYPE))
    elif command == "half" and len(args) == 1:
        thrice_scans.train(int(args[0]), HALF_OUT, load_stacked(thrice_scans.SPLITS, TILE_DTYPE))
    elif command == "rule" and not args:
        thrice_scans.rule(("three portions", "thrice_maps/t"), ("four, float16", "four_maps/f"))
    else:
        sys.exit(__doc__)
