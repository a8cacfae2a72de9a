"""EXPERIMENT (issue 4): which honest calibration scans the anomaly threshold alarms, by goods.

The threshold is the 95th percentile of the peaks of the 933 honest calibration scans (val,
calib, calib_more), so 5 % of them alarm on average; this shows how unevenly, by the goods the
scan holds ("mixed" for more than one kind, "empty" for none), with CACHE's maps
(region_rules.py maps) under the shipped region rule.

PYTHONPATH=. training/.venv/bin/python training/experiments/alarms_by_goods.py more_maps/m4321
"""
import sys
from collections import defaultdict

from training.common import DATA, read_json
from training.experiments import region_rules
from training.experiments.more_scans import CALIB_SPLITS, RULE, calibrated


def goods_of(split: str, scan: str) -> str:
    truth = read_json(DATA / split / scan / "truth.json")
    goods = {part["goods"] for container in truth["containers"] for part in container["contents"]}
    return goods.pop() if len(goods) == 1 else "mixed" if goods else "empty"


def main(cache: str) -> None:
    threshold = calibrated(cache, CALIB_SPLITS)
    alarmed = defaultdict(lambda: [0, 0])
    for split in CALIB_SPLITS:
        for scan in region_rules.load(split, DATA / "experiments" / cache):
            if scan["scenario"] != "honest":
                continue
            peak = max((r[0] for r in region_rules.regions(scan, RULE)), default=0.0)
            counts = alarmed[goods_of(split, scan["name"])]
            counts[0] += peak > threshold
            counts[1] += 1
    print(f"{cache}: threshold {threshold:.4f}, honest calibration scans alarmed by goods")
    for goods, (hits, scans) in sorted(alarmed.items(), key=lambda kv: (-kv[1][0] / kv[1][1], kv[0])):
        print(f"{goods:24s} {hits:3d} of {scans:3d} ({hits / scans:.1%})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
