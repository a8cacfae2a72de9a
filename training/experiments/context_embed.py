"""EXPERIMENT (issue 4): context in the goods classifier's feature space. The classifier is
trained on honest train scans only, so its features are fair game for an honest-only anomaly
model. Per tile: the classifier's pooled features (128-d, before the head), standardised with
honest train statistics. Scores (tile level; scan = max; localisation at 1 % honest-tile FAR):
  emb_cknn  distance to the k-th nearest tile of the SAME container that does not overlap it
            (goods repeat inside a load; hidden goods do not)
  emb_bank  distance to the nearest honest-train tile (PatchCore on the classifier's features)
  emb_both  emb_cknn / median_container(emb_cknn) + emb_bank / median(emb_bank)  (z-free mix)
Embeddings are cached as training/data/experiments/context/<split>_emb.npy.

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_embed.py val"""
import sys

import numpy as np
import torch

from training import preprocess as pp
from training.common import DATA, read_json, taxonomy_ids
from training.dataset import overlap, read_png16
from training.experiments.context_scores import CACHE, auroc
from training.models import GoodsClassifier

torch.set_num_threads(1)
torch.manual_seed(0)


def embed_split(split: str, net: GoodsClassifier) -> list:
    rows = []
    for sd in sorted(p for p in (DATA / split).iterdir() if (p / "truth.json").exists()):
        truth = read_json(sd / "truth.json")
        low = read_png16(sd / "low.png") if (sd / "low.png").exists() else None
        ch = pp.channels(read_png16(sd / "high.png"), low)
        for ci, c in enumerate(truth["containers"]):
            origins = pp.box_origins(c["interior"])
            tiles = torch.from_numpy(pp.cut_tiles(ch, origins))
            with torch.no_grad():
                f = net.features(tiles)
                e = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], 1)
            cover = np.array([[overlap(o, ob["box"]) for ob in truth["concealed_objects"]] for o in origins])
            rows.append({"scan": sd.name, "container": ci, "scenario": truth["scenario"], "dose": truth["dose"],
                         "dual": low is not None, "kinds": [o["kind"] for o in truth["concealed_objects"]],
                         "origins": np.array(origins), "emb": e.numpy(),
                         "cover": cover.reshape(len(origins), len(truth["concealed_objects"]))})
    return rows


def cached(split: str, net) -> list:
    path = CACHE / f"{split}_emb.npy"
    if not path.exists():
        np.save(path, np.array(embed_split(split, net), dtype=object), allow_pickle=True)
    return list(np.load(path, allow_pickle=True))


def cknn(e: torch.Tensor, origins: np.ndarray, k: int) -> torch.Tensor:
    o = torch.from_numpy(origins)
    d = torch.cdist(e, e)
    d[(o[:, None] - o[None]).abs().amax(-1) < pp.TILE_SIZE] = float("inf")  # overlapping tiles
    k = min(k, max(1, int(torch.isfinite(d).sum(1).min())))
    return d.kthvalue(k, dim=1).values.clamp(max=1e3)


def report(rows, name: str, scores: list) -> None:
    honest = np.concatenate([s for r, s in zip(rows, scores) if r["scenario"] == "honest"])
    th = np.quantile(honest, 0.99)
    scan_max, conc = {}, {}
    found = {}
    for r, s in zip(rows, scores):
        scan_max[r["scan"]] = max(scan_max.get(r["scan"], -np.inf), float(s.max()))
        conc[r["scan"]] = (len(r["kinds"]) > 0, r["kinds"][0] if r["kinds"] else None, r["scenario"])
        for j in range(r["cover"].shape[1]):  # object localised: a tile >= 10 % covered above th
            hit = bool((s[r["cover"][:, j] >= 0.1] > th).any())
            found[(r["scan"], j)] = found.get((r["scan"], j), False) or hit
    pos = [v for k, v in scan_max.items() if conc[k][0]]
    neg = [v for k, v in scan_max.items() if not conc[k][0]]
    hon = [v for k, v in scan_max.items() if conc[k][2] == "honest"]
    kinds = sorted({c[1] for c in conc.values() if c[1]})
    per = {kd: round(auroc([v for k, v in scan_max.items() if conc[k][1] == kd], hon), 2) for kd in kinds}
    print(f"{name:12s} AUROC {auroc(pos, neg):.3f}  objects localised at 1% tile FAR "
          f"{sum(found.values())}/{len(found)}  honest scans with an alarm {sum(h > th for h in hon)}/{len(hon)}\n    {per}",
          flush=True)


if __name__ == "__main__":
    net = GoodsClassifier(len(taxonomy_ids()))
    net.load_state_dict(torch.load(DATA / "classifier.pt", map_location="cpu"))
    net.eval()
    train = cached("train", net)
    bank = torch.from_numpy(np.concatenate([r["emb"] for r in train if r["scenario"] == "honest"]))
    mu, sd = bank.mean(0), bank.std(0) + 1e-3
    bank = ((bank - mu) / sd)[torch.randperm(len(bank))[:20000]]
    rows = cached(sys.argv[1], net)
    es = [(torch.from_numpy(r["emb"]) - mu) / sd for r in rows]
    ck = [cknn(e, r["origins"], 3) for e, r in zip(es, rows)]
    bk = [torch.cdist(e, bank).amin(1) for e in es]
    report(rows, "emb_cknn", [s.numpy() for s in ck])
    report(rows, "emb_bank", [s.numpy() for s in bk])
    mc = torch.cat(ck).median()
    mb = torch.cat(bk).median()
    report(rows, "emb_both", [(c / mc + b / mb).numpy() for c, b in zip(ck, bk)])
