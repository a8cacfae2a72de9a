"""Simulated training data: runs `scantriage simulate` jobs for the train / val / test splits.

Every split has its own seed range, so no scan appears in two splits:
    train 10000..10999, val 20000..20999, test 30000..30999, calib 100000..100999,
    train_more 130000..130999, calib_more 140000..140999, train_third 150000..150999
    (and for an experiment, four_times.py: train_fourth 160000..160999)
`calib` holds only honest scans, in the mix a port sees (mixed loads, twin 20 ft, low dose,
single energy): the anomaly threshold is set on them, calib_more's and val's honest scans
(train_anomaly.py). `train_more`, `train_third` and `calib_more` repeat train's and calib's jobs
from their own seeds (calib_more with three scans a job): the anomaly model learns from train,
train_more and train_third, the classifier from train alone.
Job j of a split uses seed = base + j and writes `count` scans (indices 0..count-1) into
training/data/<split>/. A job whose scans are already there is skipped, so a rerun is cheap
and the data is the same on every machine (the simulator is deterministic per seed/index).

Usage: python -m training.datagen [--workers 2]
"""

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from training.common import BINARY, DATA, read_json, taxonomy_ids, write_json

SEED_BASE = {"train": 10000, "val": 20000, "test": 30000, "calib": 100000, "train_more": 130000,
             "calib_more": 140000, "train_third": 150000}
# Splits made of another split's jobs from their own seeds, with this many times the scans.
JOBS_OF = {"train_more": ("train", 1), "calib_more": ("calib", 3), "train_third": ("train", 1)}
CONCEALMENTS = ["dense-packages", "weapon", "false-wall", "cigarettes-behind-goods"]

# (container, dose, single_energy, count) per goods category, honest scenario.
PER_GOODS = {
    "train": [("40", "normal", False, 6), ("40", "low", False, 3), ("20", "normal", False, 6),
              ("20", "low", False, 3), ("40", "normal", True, 3), ("20", "low", True, 3)],
    "val": [("40", "normal", False, 1), ("20", "low", False, 1), ("20", "normal", True, 1)],
    "test": [("40", "normal", False, 1), ("20", "low", True, 1)],
    "calib": [("40", "normal", False, 1), ("20", "low", False, 1), ("40", "low", True, 1), ("20", "normal", False, 1)],
}
RANDOM_HONEST = {"train": 48, "val": 8, "test": 8, "calib": 100}
# Random goods and containers, at a fixed dose or energy; after the others, so that adding them
# left the seeds of the other splits' jobs as they were.
RANDOM_HONEST_VARIANTS = {"calib": [(["--dose", "low"], 30), (["--single-energy"], 30)]}
CONCEALMENT_PER_KIND = {"train": 0, "val": 5, "test": 4, "calib": 0}


def split_jobs(split: str) -> list[dict]:
    """The simulate jobs of one split, each {seed, count, options}."""
    if split in JOBS_OF:
        like, times = JOBS_OF[split]
        return repeated_jobs(like, SEED_BASE[split], times)
    options = []
    for goods in taxonomy_ids():
        for container, dose, single, count in PER_GOODS[split]:
            opts = ["--scenario", "honest", "--goods", goods, "--container", container, "--dose", dose]
            options.append((opts + (["--single-energy"] if single else []), count))
    options.append((["--scenario", "honest"], RANDOM_HONEST[split]))
    options += [(["--scenario", "honest", *extra], n) for extra, n in RANDOM_HONEST_VARIANTS.get(split, [])]
    for kind in CONCEALMENTS:
        if CONCEALMENT_PER_KIND[split]:
            options.append((["--scenario", "concealment", "--concealment", kind], CONCEALMENT_PER_KIND[split]))
    base = SEED_BASE[split]
    return [{"seed": base + j, "count": n, "options": o} for j, (o, n) in enumerate(options)]


def repeated_jobs(like: str, base: int, times: int) -> list[dict]:
    """The jobs of split `like` from seeds `base`+, each with `times` as many scans."""
    return [dict(job, seed=job["seed"] - SEED_BASE[like] + base, count=times * job["count"])
            for job in split_jobs(like)]


def job_done(split: str, job: dict) -> bool:
    prefix = f"SIM-{job['seed']:x}-"
    done = [p for p in (DATA / split).glob(prefix + "*") if (p / "truth.json").exists()]
    return len(done) >= job["count"]


def run_job(split: str, job: dict) -> None:
    if job_done(split, job):
        return
    cmd = ["nice", "-n", "10", str(BINARY), "simulate", "--out", str(DATA / split),
           "--count", str(job["count"]), "--seed", str(job["seed"]), *job["options"]]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def generate(workers: int) -> dict:
    """Runs every split's jobs (in parallel, `workers` at a time) and records them."""
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: run `cargo build --release` first")
    record = {}
    for split in SEED_BASE:
        jobs = split_jobs(split)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda job: run_job(split, job), jobs))
        # Its time stamp tells dataset.py whether a tile cache is stale: rewrite it only when
        # the jobs changed, so that a rerun does not rebuild every cache.
        jobs_file = DATA / split / "jobs.json"
        if not jobs_file.exists() or read_json(jobs_file) != jobs:
            write_json(jobs_file, jobs)
        record[split] = {"seeds": [jobs[0]["seed"], jobs[-1]["seed"]],
                         "scans": sum(j["count"] for j in jobs)}
        print(f"{split}: {record[split]['scans']} scans, seeds {record[split]['seeds']}", flush=True)
    write_json(DATA / "splits.json", record)
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    generate(parser.parse_args().workers)
