"""Trains the anomaly model on honest tiles only, calibrates its tile-score threshold on the
validation split's honest scans at FALSE_ALARM_RATE, and measures recall on the validation
concealment scans. Usage: python -m training.train_anomaly
"""

import time

import numpy as np
import torch

from training.common import DATA, write_json
from training.dataset import load_split
from training.models import AnomalyExport, TileAutoencoder, cell_means, error_map

SEED = 4321
EPOCHS = 10
BATCH = 256
TOP_K = 4  # score = mean of the 4 largest cells of the 16 x 16 map
FALSE_ALARM_RATE = 0.01
POSITIVE_OVERLAP = 0.1  # a concealment tile: a concealed object's box covers >= 10 % of it
SINGLE_ENERGY_SHARE = 0.25


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    x[:, 1][torch.rand(x.shape[0], generator=gen) < SINGLE_ENERGY_SHARE] = 0.0
    return x


def train_epoch(net, opt, sched, tiles: np.ndarray, order: np.ndarray, gen) -> float:
    net.train()
    total = 0.0
    for start in range(0, len(order), BATCH):
        cells = cell_means(augment(torch.from_numpy(tiles[order[start : start + BATCH]]), gen))
        loss = error_map(cells, net(cells)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item() * len(cells)
    return total / len(order)


@torch.no_grad()
def scores(model: AnomalyExport, tiles: np.ndarray, batch: int = 1024) -> np.ndarray:
    model.eval()
    return np.concatenate([model(torch.from_numpy(tiles[i : i + batch]))[1].numpy() for i in range(0, len(tiles), batch)])


def object_recall(val: dict, hit: np.ndarray) -> dict:
    """Share of concealed objects with at least one overlapping tile above the threshold, per kind."""
    kinds = val["object_kinds"]
    found = np.zeros(len(kinds), dtype=bool)
    found[np.unique(val["object"][hit & (val["object"] >= 0)])] = True
    out = {"all": round(float(found.mean()), 4) if len(kinds) else None}
    for kind in sorted(set(kinds)):
        out[kind] = round(float(found[kinds == kind].mean()), 4)
    return out


def calibrate(model: AnomalyExport, val: dict) -> dict:
    """Threshold at FALSE_ALARM_RATE of the honest scans' tiles, and the detection it gives."""
    s = scores(model, val["tiles"])
    threshold = float(np.quantile(s[val["honest"]], 1.0 - FALSE_ALARM_RATE))
    return {"tile_score_threshold": threshold, **detection(val, s, threshold)}


def detection(split: dict, s: np.ndarray, threshold: float) -> dict:
    """False alarms on honest scans; recall on concealment tiles and concealed objects."""
    honest, hit = split["honest"], s > threshold
    positive = split["concealed"] >= POSITIVE_OVERLAP
    honest_scans = np.unique(split["scan"][honest])
    alarmed = np.unique(split["scan"][honest & hit])
    return {
        "honest_tiles": int(honest.sum()),
        "honest_tile_false_alarm_rate": round(float(hit[honest].mean()), 4),
        "honest_scans_with_an_alarm": f"{len(alarmed)}/{len(honest_scans)}",
        "concealment_tiles": int(positive.sum()),
        "concealment_tile_recall": round(float(hit[positive].mean()), 4),
        "concealed_object_recall": object_recall(split, hit),
        "positive_tile_rule": f"a concealed object's box covers >= {POSITIVE_OVERLAP:.0%} of the tile",
    }


def train() -> tuple[AnomalyExport, dict]:
    torch.set_flush_denormal(True)  # denormals slow CPU training down tenfold
    torch.manual_seed(SEED)
    rng, gen = np.random.default_rng(SEED), torch.Generator().manual_seed(SEED)
    data = load_split("train")
    # Indices of the honest tiles rather than a copy of them: the train split's tiles are over 5 GB.
    honest = np.flatnonzero(data["honest"])
    net = TileAutoencoder()
    steps = EPOCHS * -(-len(honest) // BATCH)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    for epoch in range(EPOCHS):
        t0 = time.time()
        loss = train_epoch(net, opt, sched, data["tiles"], honest[rng.permutation(len(honest))], gen)
        print(f"anomaly epoch {epoch + 1}/{EPOCHS} loss {loss:.6f} ({time.time() - t0:.0f} s)", flush=True)
    model = AnomalyExport(net, TOP_K)
    metrics = calibrate(model, load_split("val"))
    metrics["train_tiles"] = len(honest)
    write_json(DATA / "anomaly_metrics.json", metrics)
    torch.save(net.state_dict(), DATA / "anomaly.pt")
    return model, metrics


if __name__ == "__main__":
    torch.set_num_threads(1)  # small convs: 1 thread is fastest, and robust on a busy machine
    _, m = train()
    print(m)
