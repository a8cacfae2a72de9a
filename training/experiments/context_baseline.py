"""EXPERIMENT (issue 4): the shipped anomaly model (training/data/anomaly.pt, from the last
`make models`) scored with the same scan-level AUROC as the context experiments, to check this
harness against `scantriage eval` (test split, with the 1.1.0 autoencoder: 0.467 there).

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_baseline.py test"""
import sys

import numpy as np
import torch

from training.common import DATA, read_json
from training.dataset import load_split
from training.experiments.context_scores import auroc
from training.models import DefectSegmenter, SegmenterExport

torch.set_num_threads(1)

if __name__ == "__main__":
    split = sys.argv[1]
    d = load_split(split)
    net = DefectSegmenter()
    net.load_state_dict(torch.load(DATA / "anomaly.pt", map_location="cpu"))
    model = SegmenterExport(net.eval(), 4)
    with torch.no_grad():
        s = np.concatenate([model(torch.from_numpy(d["tiles"][i : i + 1024]))[1].numpy()
                            for i in range(0, len(d["tiles"]), 1024)])
    names = d["scan_names"]
    concealed = [bool(read_json(DATA / split / n / "truth.json")["concealed_objects"]) for n in names]
    smax = np.array([s[d["scan"] == i].max() for i in range(len(names))])
    pos = smax[np.array(concealed)]
    neg = smax[~np.array(concealed)]
    print(f"autoencoder {split}: scan-level AUROC {auroc(pos, neg):.3f} ({len(pos)} concealment, {len(neg)} other scans)")
