"""EXPERIMENT (issue 4): one network with weights averaged along its own training (SWA), to get
part of what averaging several seeds' maps gave at the cost of one training and one network.

The mean of three to five seeds' maps localised 84-86 of val_big's 152 objects where single
seeds localise 56-76 (seed_ensemble.py), but costs n trainings and n networks. Averaging the
weights of one run at several points of a tail at constant learning rate often gives much of an
ensemble's gain in a single network. The run is `train_anomaly.fit`'s recipe unchanged for its
first SWA_FROM epochs (so seed S's run is seed_ensemble.py's run S up to there, a paired
control), then holds the learning rate where the one-cycle schedule was and averages the
weights every half epoch until epoch 16; BatchNorm statistics are then recomputed for the
averaged weights on honest tiles with synthetic defects, as in training. Exports the averaged
network and, for comparison, the last weights of the tail.

    train SEED    fit, average and export DATA/experiments/swa/SEED/{anomaly,last}.onnx
                  (about as long as seed_ensemble.py train: 42-57 min on one thread, two at once)

PYTHONPATH=. training/.venv/bin/python training/experiments/weight_average.py train 4322
"""
import sys
import time
from types import SimpleNamespace

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, update_bn

from training import train_anomaly as ta
from training.common import DATA
from training.dataset import load_split
from training.export import export_onnx
from training.models import DefectSegmenter, SegmenterExport
from training.synthetic import add_defects

OUT = DATA / "experiments" / "swa"
SWA_FROM = 12  # epochs of the shipped schedule before the constant-rate tail
BN_TILES = 20_000  # honest tiles (with defects) to recompute the averaged network's BatchNorm


def fit_averaged(seed: int) -> tuple[DefectSegmenter, DefectSegmenter]:
    """(averaged network, last weights of the tail)."""
    torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    data = load_split("train")
    honest = np.flatnonzero(data["honest"])
    net = DefectSegmenter()
    per_epoch = min(ta.TILES_PER_EPOCH, len(honest))
    steps = ta.EPOCHS * -(-per_epoch // ta.BATCH)
    opt = torch.optim.AdamW(net.parameters(), lr=ta.LEARNING_RATE, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=ta.LEARNING_RATE, total_steps=steps)
    averaged = AveragedModel(net)
    for epoch in range(ta.EPOCHS):
        t0 = time.time()
        order = ta.epoch_order(epoch, net, data["tiles"], honest, per_epoch, rng)
        if epoch < SWA_FROM:
            loss = ta.train_epoch(net, opt, sched, data["tiles"], order, gen)
        else:
            sched = SimpleNamespace(step=lambda: None)  # the rate stays where the schedule left it
            halves = np.array_split(order, 2)
            loss = 0.0
            for half in halves:
                loss += ta.train_epoch(net, opt, sched, data["tiles"], half, gen) * len(half) / len(order)
                averaged.update_parameters(net)
        print(f"swa epoch {epoch + 1}/{ta.EPOCHS} lr {opt.param_groups[0]['lr']:.2e} loss {loss:.6f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    sample = np.sort(rng.choice(honest, min(BN_TILES, len(honest)), replace=False))
    batches = (add_defects(ta.augment(torch.from_numpy(data["tiles"][sample[i : i + ta.BATCH]]), gen), gen)[0]
               for i in range(0, len(sample), ta.BATCH))
    update_bn(batches, averaged)
    return averaged.module, net


def train(seed: int) -> None:
    t0 = time.time()
    out = OUT / str(seed)
    out.mkdir(parents=True, exist_ok=True)
    averaged, last = fit_averaged(seed)
    for name, net in [("anomaly", averaged), ("last", last)]:
        torch.save(net.state_dict(), out / f"{name}.pt")
        export_onnx(SegmenterExport(net, ta.TOP_K), out / f"{name}.onnx", ["anomaly_map", "score"])
    print(f"seed {seed}: {out} in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["help"]
    if command == "train" and len(args) == 1:
        train(int(args[0]))
    else:
        sys.exit(__doc__)
