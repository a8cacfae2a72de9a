"""EXPERIMENT (issue 4): bigger evaluation splits for the context experiments, because 16-20
concealment scans per split leave every AUROC at about ±0.06.

training/data/val_big (seeds 41000+) and training/data/test_big (seeds 51000+): 35 concealment
scans per kind and 60 honest scans (random goods, containers and doses, plus extra low-dose and
single-energy ones, roughly the mix of val/test). The seed ranges are disjoint from datagen.py's
(train 10000+, val 20000+, test 30000+). Runs the simulator through datagen.run_job, so a rerun
skips finished jobs; point SCANTRIAGE_BIN at a copy of the binary (a rebuild must not change
the data under a running job).

SCANTRIAGE_BIN=/tmp/scantriage-sim PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 \
    training/.venv/bin/python training/experiments/context_bigdata.py"""
from training.common import DATA, write_json
from training.datagen import CONCEALMENTS, run_job

SEED_BASE = {"val_big": 41000, "test_big": 51000}
PER_KIND = 35
HONEST = [(["--scenario", "honest"], 40), (["--scenario", "honest", "--dose", "low"], 10),
          (["--scenario", "honest", "--single-energy"], 10)]


def big_jobs(split: str) -> list[dict]:
    options = HONEST + [(["--scenario", "concealment", "--concealment", k], PER_KIND) for k in CONCEALMENTS]
    return [{"seed": SEED_BASE[split] + j, "count": n, "options": o} for j, (o, n) in enumerate(options)]


if __name__ == "__main__":
    for split in SEED_BASE:
        jobs = big_jobs(split)
        for job in jobs:  # one at a time: the caller pins us to one core
            run_job(split, job)
        write_json(DATA / split / "jobs.json", jobs)
        print(split, sum(j["count"] for j in jobs), "scans, seeds", jobs[0]["seed"], "-", jobs[-1]["seed"], flush=True)
