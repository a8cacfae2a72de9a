"""Trains the goods classifier on pure (>= 60 %) tiles of the train split; measures it on val.

Class-balanced sampling (each epoch draws the same number of tiles per category), random
flips along the scan direction, and c1 zeroed on 25 % of the tiles so that one model serves
single- and dual-energy scans. Usage: python -m training.train_classifier
"""

import time

import numpy as np
import torch
import torch.nn.functional as F

from training import preprocess as pp
from training.common import DATA, keep_freed_memory, taxonomy_ids, write_json
from training.dataset import load_split
from training.models import GoodsClassifier

SEED = 1234
EPOCHS = 24
PER_CLASS = 1600  # tiles drawn per category and epoch
BATCH = 128
SINGLE_ENERGY_SHARE = 0.25


def balanced_epoch(labels: np.ndarray, classes: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of one epoch: PER_CLASS draws per category present, shuffled."""
    picks = [rng.choice(np.flatnonzero(labels == c), PER_CLASS) for c in range(classes) if (labels == c).any()]
    return rng.permutation(np.concatenate(picks))


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Flip along the scan direction (half the tiles); zero c1 (single energy) on 25 %."""
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    single = torch.rand(x.shape[0], generator=gen) < SINGLE_ENERGY_SHARE
    x[:, 1][single] = 0.0
    return x


def train_epoch(net, opt, sched, tiles, labels, order, gen) -> float:
    net.train()
    total = 0.0
    for start in range(0, len(order), BATCH):
        idx = order[start : start + BATCH]
        x = augment(torch.from_numpy(tiles[idx]), gen)
        loss = F.cross_entropy(net(x), torch.from_numpy(labels[idx]), label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item() * len(idx)
    return total / len(order)


@torch.no_grad()
def predict(net, tiles: np.ndarray, batch: int = 512) -> np.ndarray:
    """Probabilities [n, classes]."""
    net.eval()
    out = [torch.softmax(net(torch.from_numpy(tiles[i : i + batch])), 1).numpy() for i in range(0, len(tiles), batch)]
    return np.concatenate(out)


def evaluate(net, split: dict, classes: list[str]) -> dict:
    """Tile accuracy on pure tiles: overall, per category, dual/single energy, and confusions."""
    keep = split["purity"] >= pp.MIN_PURITY
    truth, dual = split["label"][keep], split["dual"][keep]
    pred = predict(net, split["tiles"][keep]).argmax(1)
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (truth, pred), 1)
    per_class = {c: round(float(confusion[i, i] / max(confusion[i].sum(), 1)), 4) for i, c in enumerate(classes)}
    top = [(int(confusion[i, j]), classes[i], classes[j]) for i in range(len(classes))
           for j in range(len(classes)) if i != j and confusion[i, j] > 0]
    return {
        "tiles": int(keep.sum()),
        "tile_accuracy": round(float((pred == truth).mean()), 4),
        "tile_accuracy_dual_energy": round(float((pred == truth)[dual].mean()), 4),
        "tile_accuracy_single_energy": round(float((pred == truth)[~dual].mean()), 4),
        "per_category_accuracy": per_class,
        "top_confusions": [f"{t} -> {p}: {n}" for n, t, p in sorted(top, reverse=True)[:8]],
        "confusion": confusion.tolist(),
    }


def train() -> tuple[GoodsClassifier, dict]:
    torch.set_flush_denormal(True)  # denormals slow CPU training down tenfold
    torch.manual_seed(SEED)
    rng, gen = np.random.default_rng(SEED), torch.Generator().manual_seed(SEED)
    classes = taxonomy_ids()
    data, val = load_split("train"), load_split("val")
    # Indices of the pure tiles rather than a copy of them: the train split's tiles are over 5 GB.
    pure = np.flatnonzero(data["purity"] >= pp.MIN_PURITY)
    labels = data["label"][pure]
    net = GoodsClassifier(len(classes))
    steps = EPOCHS * -(-PER_CLASS * len(np.unique(labels)) // BATCH)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for epoch in range(EPOCHS):
        t0 = time.time()
        order = pure[balanced_epoch(labels, len(classes), rng)]
        loss = train_epoch(net, opt, sched, data["tiles"], data["label"], order, gen)
        print(f"classifier epoch {epoch + 1}/{EPOCHS} loss {loss:.4f} ({time.time() - t0:.0f} s)", flush=True)
    metrics = evaluate(net, val, classes)
    metrics["train_tiles"] = len(pure)
    write_json(DATA / "classifier_metrics.json", metrics)
    torch.save(net.state_dict(), DATA / "classifier.pt")
    return net, metrics


if __name__ == "__main__":
    keep_freed_memory()
    torch.set_num_threads(1)  # small convs: 1 thread is fastest, and robust on a busy machine
    _, m = train()
    print({k: v for k, v in m.items() if k != "confusion"})
