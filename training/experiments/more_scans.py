"""EXPERIMENT (issue 4): 1.2.4's recipe on twice as many honest train scans.

An honest scan alarms when one of its ~100 000 map cells does, so the threshold is set by the
rare honest texture the model has not learnt to take for honest, and the held-out honest scans
are new loads. 1.2.x learn from the train split's 408 honest scans (154 000 tiles, 100 000
drawn each epoch). `train_more` is made by the same simulate jobs from another seed range
(130000+, used by nothing else), and these runs draw each epoch's tiles and hard negatives from
both splits: the same steps, network and inference cost, so `make models` would grow only by
the data generation. The number of scans was never varied for the anomaly model.

Rule, fixed before the runs: worth a `make models` run only if, for both seeds 4322 and 4323, it
beats that seed's run of seed_ensemble.py (train split alone, also on one thread; cached as
seeds_maps/s4322, s4323) on both val_big and mix_val in AUROC alone, with no fewer objects
localised and no more scans without concealment alarmed.

    data         simulate train_more and write the tiles of train and train_more into one file
                 that the runs map into memory, so that two runs at once share it (11 GB)
    train SEED   fit on both splits, export DATA/experiments/more_scans/SEED/anomaly.onnx
    matched CACHE CONTROL
                 a diagnostic, not the rule: objects localised on val_big and mix_val with
                 CACHE's maps (region_rules.py maps) at the lowest threshold that alarms no more
                 of the set's clean scans than CONTROL's maps do at their calibrated threshold
    calib_more   simulate calib_more: calib's jobs from seeds 140000+, three scans per job (660
                 honest scans, used by nothing else)
    recalibrated SEED...
                 the second rule below, for each seed
    pooled SEED...
                 the third rule below, over these seeds
    gate CACHE   whether the network of `make models` on twice the scans, whose maps are in
                 CACHE, replaces 1.2.4 (training/experiments/README.md, "Shipping the recipe")

The first rule failed on clean scans alarmed (training/experiments/README.md): the threshold, the
95th percentile of the 273 honest calibration scans' scores, fell from about 0.97 to 0.92, where
those scores are sparse, and alarmed 7-10 % of the evaluation sets' clean scans instead of 5 %.
Second rule, fixed after seeing seeds 4322 and 4323 under the first and before training seed 4324
or computing any map of calib_more: the threshold of every network is the 95th percentile over
the honest scans of val, calib and calib_more (933 instead of 273); otherwise as the first rule,
for seeds 4322, 4323 and 4324. Only seed 4324 is a test that was not looked at beforehand.

The second rule failed too (seed 4322 on clean scans alarmed, the unseen 4324 on mix_val's AUROC
alone), while over the three seeds the clean scans alarmed were equal (34 against 34) and the
objects localised up (298 against 257). Each seed had to win twelve comparisons on sets of 60 and
115 clean scans, where two networks with the same alarm rate tie or lose about half the time.
Third rule, fixed after the second's results and before any map of seeds 4325 (twice the scans)
or 4326 (train split): with the second rule's thresholds, over seeds 4325 and 4326 together,
twice the scans must localise more objects of val_big and mix_val than the train split, have the
higher mean AUROC alone on each set, and alarm at most MAX_CLEAN_ALARMED of the sets' clean scans
(the stated 5 % with room for chance: about 1.7 binomial standard deviations over 350 scans).

The third rule failed on mix_val's AUROC alone (0.775 against 0.787), while twice the scans
localised more (189 against 148) and alarmed fewer clean scans (16 against 19 of 350).

PYTHONPATH=. training/.venv/bin/python training/experiments/more_scans.py data
PYTHONPATH=. training/.venv/bin/python training/experiments/more_scans.py train 4322
"""
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from training import datagen, train_anomaly
from training.common import DATA, write_json
from training.experiments import region_rules
from training.dataset import build_split, load_split
from training.export import export_onnx
from training.models import SegmenterExport

SPLIT = "train_more"
CALIB_SPLIT = "calib_more"
CALIB_SPLITS = region_rules.CALIBRATION + [CALIB_SPLIT]
OUT = DATA / "experiments" / "more_scans"
TILES = OUT / "tiles.npy"
HONEST = OUT / "honest.npy"


def data() -> None:
    jobs = datagen.split_jobs(SPLIT)  # train's jobs from seeds 130000+, as `make models` makes them now
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda job: datagen.run_job(SPLIT, job), jobs))
    write_json(DATA / SPLIT / "jobs.json", jobs)
    more = build_split(SPLIT)
    train = load_split("train")
    OUT.mkdir(parents=True, exist_ok=True)
    shape = (len(train["tiles"]) + len(more["tiles"]), *train["tiles"].shape[1:])
    tiles = np.lib.format.open_memmap(TILES, mode="w+", dtype=np.float32, shape=shape)
    tiles[: len(train["tiles"])] = train["tiles"]
    tiles[len(train["tiles"]) :] = more["tiles"]
    tiles.flush()
    np.save(HONEST, np.concatenate([train["honest"], more["honest"]]))
    print(f"{len(train['scan_names'])} + {len(more['scan_names'])} scans, {shape[0]} tiles", flush=True)


def train(seed: int) -> None:
    t0 = time.time()
    out = OUT / str(seed)
    out.mkdir(parents=True, exist_ok=True)
    both = {"tiles": np.load(TILES, mmap_mode="r"), "honest": np.load(HONEST)}
    net, _ = train_anomaly.fit(seed=seed, threads=1, data=both)
    torch.save(net.state_dict(), out / "anomaly.pt")
    export_onnx(SegmenterExport(net, train_anomaly.TOP_K), out / "anomaly.onnx", ["anomaly_map", "score"])
    print(f"seed {seed}: {out / 'anomaly.onnx'} in {time.time() - t0:.0f} s", flush=True)


def calib_more() -> None:
    jobs = datagen.split_jobs(CALIB_SPLIT)  # calib's jobs from seeds 140000+, three scans each
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda job: datagen.run_job(CALIB_SPLIT, job), jobs))
    write_json(DATA / CALIB_SPLIT / "jobs.json", jobs)
    print(f"{CALIB_SPLIT}: {sum(j['count'] for j in jobs)} honest scans", flush=True)


RULE = region_rules.RULES[0]
MAX_CLEAN_ALARMED = 0.07


def calibrated(cache: str, splits: list[str]) -> float:
    """The shipped rule's threshold for CACHE's maps, at the false-alarm rate of these splits' honest scans."""
    scores = [max((r[0] for r in region_rules.regions(s, RULE)), default=0.0)
              for split in splits for s in region_rules.load(split, DATA / "experiments" / cache) if s["scenario"] == "honest"]
    return float(np.quantile(scores, 1 - region_rules.FALSE_ALARM_RATE))


def graded(split: str, cache: str) -> tuple[list[dict], list]:
    scans = region_rules.load(split, DATA / "experiments" / cache)
    return scans, [region_rules.regions(s, RULE) for s in scans]


def recalibrated_row(cache: str) -> dict:
    """CACHE's maps on val_big and mix_val at the threshold of the larger calibration set (printed)."""
    threshold = calibrated(cache, CALIB_SPLITS)
    row = {}
    line = [f"{cache:20s} T={threshold:.4f}"]
    for split in ["val_big", "mix_val"]:
        scans, cands = graded(split, cache)
        e = region_rules.evaluate(scans, cands, threshold)
        e["alone"] = region_rules.evaluate(scans, cands, threshold, wall_check=False)["auroc"]
        row[split] = e
        line.append(f"{split}: alone {e['alone']:.3f} loc {e['found']}/{e['objects']} fa {e['alarms']}/{e['clean']}")
    print(" | ".join(line), flush=True)
    return row


def recalibrated(seeds: list[int]) -> None:
    recalibrated_row("regions")  # 1.2.4, for reference
    passed = True
    for seed in seeds:
        control, more = recalibrated_row(f"seeds_maps/s{seed}"), recalibrated_row(f"more_maps/m{seed}")
        beats = all(more[s]["alone"] > control[s]["alone"] and more[s]["found"] >= control[s]["found"]
                    and more[s]["alarms"] <= control[s]["alarms"] for s in control)
        print(f"seed {seed}: {'beats' if beats else 'does not beat'} the train split's run", flush=True)
        passed &= beats
    print("rule passed" if passed else "rule failed", flush=True)


def pooled_sums(seeds: list[int], runs: list[tuple[str, str]]) -> dict:
    """Per run (name, cache prefix to which the seed is appended): objects localised, clean
    scans alarmed and mean AUROC alone per set over these seeds, at the second rule's thresholds
    (printed, with 1.2.4's row for reference)."""
    recalibrated_row("regions")
    rows = {name: [recalibrated_row(f"{cache}{seed}") for seed in seeds] for name, cache in runs}
    summed = {}
    for name, per_seed in rows.items():
        sets = per_seed[0].keys()
        found = sum(row[s]["found"] for row in per_seed for s in sets)
        alarms = sum(row[s]["alarms"] for row in per_seed for s in sets)
        clean = sum(row[s]["clean"] for row in per_seed for s in sets)
        alone = {s: float(np.mean([row[s]["alone"] for row in per_seed])) for s in sets}
        summed[name] = {"found": found, "alarms": alarms, "clean": clean, "alone": alone}
        kinds = sorted({k for row in per_seed for s in sets for k in row[s]["by_kind"]})
        of_kind = {k: [sum(row[s]["by_kind"].get(k, [0, 0])[i] for row in per_seed for s in sets) for i in (0, 1)]
                   for k in kinds}
        print(f"{name:16s} localised {found}, clean alarmed {alarms}/{clean}, mean AUROC alone "
              + ", ".join(f"{s} {a:.3f}" for s, a in alone.items())
              + "; localised by kind " + ", ".join(f"{k} {f}/{n}" for k, (f, n) in of_kind.items()), flush=True)
    return summed


def pooled(seeds: list[int]) -> None:
    control, more = pooled_sums(seeds, [("train split", "seeds_maps/s"), ("twice the scans", "more_maps/m")]).values()
    passed = (more["found"] > control["found"] and all(more["alone"][s] > control["alone"][s] for s in more["alone"])
              and more["alarms"] <= MAX_CLEAN_ALARMED * more["clean"])
    print("rule passed" if passed else "rule failed", flush=True)


def gate(cache: str) -> None:
    """Whether CACHE's maps (of the network `make models` trains on twice the scans) replace
    1.2.4's: with both under the second rule's threshold, on val_big and mix_val together, more
    objects localised and at most MAX_CLEAN_ALARMED of the clean scans alarmed."""
    shipped, new = recalibrated_row("regions"), recalibrated_row(cache)
    found = {name: sum(row[s]["found"] for s in row) for name, row in [("1.2.4", shipped), ("new", new)]}
    alarms, clean = sum(new[s]["alarms"] for s in new), sum(new[s]["clean"] for s in new)
    passed = found["new"] > found["1.2.4"] and alarms <= MAX_CLEAN_ALARMED * clean
    print(f"localised {found['new']} against 1.2.4's {found['1.2.4']}, clean alarmed {alarms}/{clean}: "
          f"gate {'passed' if passed else 'failed'}", flush=True)


def matched(cache: str, control: str) -> None:
    threshold = calibrated(control, region_rules.CALIBRATION)
    for split in ["val_big", "mix_val"]:
        allowed = region_rules.evaluate(*graded(split, control), threshold)["alarms"]
        scans, cands = graded(split, cache)
        for lower in np.arange(0.80, 1.0, 0.0005):
            e = region_rules.evaluate(scans, cands, float(lower))
            if e["alarms"] <= allowed:
                print(f"{split}: at {lower:.4f} {e['alarms']}/{e['clean']} clean alarmed (control {allowed}), "
                      f"localised {e['found']}/{e['objects']}", flush=True)
                break


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["help"]
    if command == "data" and not args:
        data()
    elif command == "train" and len(args) == 1:
        train(int(args[0]))
    elif command == "matched" and len(args) == 2:
        matched(*args)
    elif command == "calib_more" and not args:
        calib_more()
    elif command == "recalibrated" and args:
        recalibrated([int(a) for a in args])
    elif command == "gate" and len(args) == 1:
        gate(args[0])
    elif command == "pooled" and args:
        pooled([int(a) for a in args])
    else:
        sys.exit(__doc__)
