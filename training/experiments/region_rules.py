"""EXPERIMENT (issue 4): how the anomaly map becomes alarms and a scan score.

The shipped pipeline (`src/inference/engine.rs`) lays the tiles' 16 x 16 maps on one grid of
4 px cells (the larger value where tiles overlap), marks every connected group of cells above
the manifest's `tile_score` as a region, and scores a scan by its largest tile score (mean of a
tile's 4 largest cells). An honest scan has about 100 000 cells, so one stray cell decides its
alarm; concealed goods are usually larger than a stray cell. This replays the map in Python
(the committed anomaly.onnx through onnxruntime, on the simulator's interior boxes) and compares
ways of turning it into alarms, each with its threshold set as the pipeline's is: so that 5 % of
the honest scans of val and calib alarm.

    maps SPLIT...   cache each scan's cell grid (max and mean over overlapping tiles)
    rules SPLIT...  every rule on the cached grids: scan AUROC (scans with a concealed object
                    against the rest), objects localised (false walls apart: the wall check
                    finds those), scans without concealment alarmed
    hosts SPLIT...  the shipped rule's objects localised, by kind and by the goods they hide in
    margins SPLIT.. the shipped rule without the cells at the interiors' floor or ends

PYTHONPATH=. training/.venv/bin/python training/experiments/region_rules.py maps val calib val_big
"""
import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from training import preprocess as pp
from training.common import DATA, MODELS, read_json
from training.dataset import read_png16

CELL = 4
# REGIONS_TTA=1: each tile's map averaged with that of its mirror image (test-time augmentation).
TTA = os.environ.get("REGIONS_TTA") == "1"
# REGIONS_MODELS=a.onnx,b.onnx: each tile's map averaged over these models (seed_ensemble.py),
# cached under REGIONS_CACHE; by default the committed anomaly.onnx.
MODEL_FILES = [Path(p) for p in os.environ.get("REGIONS_MODELS", str(MODELS / "anomaly.onnx")).split(",")]
CACHE = DATA / "experiments" / os.environ.get("REGIONS_CACHE", "regions_tta" if TTA else "regions")
CALIBRATION = ["val", "calib"]
FALSE_ALARM_RATE = 0.05


def scan_dirs(split: str) -> list[Path]:
    return sorted(p for p in (DATA / split).iterdir() if (p / "truth.json").exists())


def tile_maps(sessions: list[ort.InferenceSession], tiles: np.ndarray) -> np.ndarray:
    """Each tile's map, averaged over the models (and over mirror images with TTA)."""
    maps = []
    for session in sessions:
        maps.append(session.run(["anomaly_map"], {"tiles": tiles})[0])
        if TTA:  # the mirror image along the scan, mirrored back
            mirrored = session.run(["anomaly_map"], {"tiles": np.ascontiguousarray(tiles[..., ::-1])})[0]
            maps.append(mirrored[..., ::-1])
    return np.mean(maps, axis=0)


def scan_maps(sessions: list[ort.InferenceSession], scan: Path) -> dict:
    truth = read_json(scan / "truth.json")
    low = read_png16(scan / "low.png") if (scan / "low.png").exists() else None
    high = read_png16(scan / "high.png")
    chans = pp.channels(high, low)
    rows, cols = -(-high.shape[0] // CELL), -(-high.shape[1] // CELL)
    top = np.zeros((rows, cols), np.float32)
    total = np.zeros((rows, cols), np.float32)
    count = np.zeros((rows, cols), np.float32)
    best_tile = 0.0
    for container in truth["containers"]:
        origins = pp.box_origins(container["interior"])
        for start in range(0, len(origins), 64):
            batch = origins[start : start + 64]
            tiles = pp.cut_tiles(chans, batch)
            maps = tile_maps(sessions, tiles)
            scores = np.sort(maps.reshape(len(batch), -1), axis=1)[:, -4:].mean(axis=1)
            best_tile = max(best_tile, float(scores.max()))
            for (y, x), m in zip(batch, maps[:, 0]):
                cy, cx = y // CELL, x // CELL
                window = (slice(cy, cy + 16), slice(cx, cx + 16))
                top[window] = np.maximum(top[window], m)
                total[window] += m
                count[window] += 1
    mean = np.where(count > 0, total / np.maximum(count, 1), 0)
    objects = [(o["kind"], [o["box"][k] // CELL for k in ("x0", "y0")] + [-(-o["box"][k] // CELL) for k in ("x1", "y1")])
               for o in truth["concealed_objects"]]
    return {"top": top.astype(np.float16), "mean": mean.astype(np.float16), "best_tile": best_tile,
            "scenario": truth["scenario"], "objects": objects}


def cache_split(split: str) -> None:
    sessions = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in MODEL_FILES]
    out = CACHE / split
    out.mkdir(parents=True, exist_ok=True)
    for scan in scan_dirs(split):
        target = out / f"{scan.name}.npz"
        if not target.exists():
            m = scan_maps(sessions, scan)
            np.savez(target, top=m["top"], mean=m["mean"], best_tile=m["best_tile"], scenario=m["scenario"],
                     kinds=np.array([k for k, _ in m["objects"]], dtype=str),
                     boxes=np.array([b for _, b in m["objects"]], dtype=np.int64).reshape(-1, 4))
    print(split, "cached", flush=True)


def load(split: str, cache: Path = CACHE) -> list[dict]:
    scans = []
    for f in sorted((cache / split).glob("*.npz")):
        z = np.load(f)
        scans.append({"name": f.stem, "top": z["top"].astype(np.float32), "mean": z["mean"].astype(np.float32),
                      "best_tile": float(z["best_tile"]), "scenario": str(z["scenario"]),
                      "kinds": list(z["kinds"]), "boxes": z["boxes"]})
    return scans


def box_filter(a: np.ndarray, k: int) -> np.ndarray:
    """Mean over the k x k cells starting at each cell (cells past the edge count as 0)."""
    c = np.pad(a, ((1, k), (1, k))).cumsum(0).cumsum(1)
    h, w = a.shape
    return (c[k : k + h, k : k + w] - c[:h, k : k + w] - c[k : k + h, :w] + c[:h, :w]) / (k * k)


def components(mask: np.ndarray) -> list[np.ndarray]:
    """4-connected groups of True cells, each as an array of flat indices."""
    h, w = mask.shape
    todo = set(np.flatnonzero(mask).tolist())
    groups = []
    while todo:
        stack = [todo.pop()]
        group = []
        while stack:
            i = stack.pop()
            group.append(i)
            y, x = divmod(i, w)
            for j, ok in ((i - 1, x > 0), (i + 1, x + 1 < w), (i - w, y > 0), (i + w, y + 1 < h)):
                if ok and j in todo:
                    todo.remove(j)
                    stack.append(j)
        groups.append(np.array(group))
    return groups


def regions(scan: dict, rule: tuple) -> list[tuple[float, tuple]]:
    """(strength, box in cells) of every candidate region of a scan under a rule."""
    kind, *p = rule
    if kind in ("max", "mean", "blur"):
        s = scan["mean"] if kind == "mean" else scan["top"]
        if kind == "blur":
            s = box_filter(s, p[0])
        floor = p[1] if kind == "blur" else p[0]
        strength = lambda g, v: v.max()
    else:  # "area": cells above a floor, the region's strength its summed excess over the floor
        s, floor = scan["top"], p[0]
        strength = lambda g, v: float((v - floor).sum())
    w = s.shape[1]
    out = []
    for g in components(s > floor):
        v = s.flat[g]
        ys, xs = g // w, g % w
        out.append((float(strength(g, v)), (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)))
    return out


def evaluate(scans: list[dict], cands: list, threshold: float, wall_check: bool = True) -> dict:
    score = np.array([max((r[0] for r in c), default=0.0) for c in cands])
    concealed = np.array([len(s["kinds"]) > 0 for s in scans])
    walls = np.array([any(k == "false_wall" for k in s["kinds"]) for s in scans])
    ranked = score + (walls if wall_check else 0)
    pos, neg = ranked[concealed], ranked[~concealed]
    auroc = float(((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None])).mean()) if len(pos) and len(neg) else float("nan")
    found, total = 0, 0
    by_kind = {}
    for s, c in zip(scans, cands):
        marked = [b for st, b in c if st > threshold]
        for kind, (x0, y0, x1, y1) in zip(s["kinds"], s["boxes"]):
            if kind == "false_wall":
                continue
            hit = any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in marked)
            found += hit
            total += 1
            k = by_kind.setdefault(kind, [0, 0])
            k[0] += hit
            k[1] += 1
    alarms = (score[~concealed] > threshold)
    return {"auroc": auroc, "found": found, "objects": total, "alarms": int(alarms.sum()), "clean": int((~concealed).sum()),
            "by_kind": by_kind}


RULES = [("max", 0.3)] + [("mean", 0.3)] + [("blur", k, 0.3) for k in (2, 3, 4, 6)] + [("area", f) for f in (0.3, 0.5, 0.7, 0.9)]


def report(rule: tuple, honest: list[dict], sets: dict[str, list[dict]]) -> str:
    """One line: the rule's threshold at FALSE_ALARM_RATE of the `honest` calibration scans, and
    what it gives on each set."""
    threshold = float(np.quantile([max((r[0] for r in regions(s, rule)), default=0.0) for s in honest],
                                  1 - FALSE_ALARM_RATE))
    line = [f"{'/'.join(map(str, rule)):14s} T={threshold:8.4f}"]
    for split, scans in sets.items():
        cands = [regions(s, rule) for s in scans]
        e = evaluate(scans, cands, threshold)
        alone = evaluate(scans, cands, threshold, wall_check=False)["auroc"]
        kinds = " ".join(f"{k[:4]}{v[0]}/{v[1]}" for k, v in sorted(e["by_kind"].items()))
        line.append(f"{split}: auc {e['auroc']:.3f} alone {alone:.3f} loc {e['found']}/{e['objects']} "
                    f"fa {e['alarms']}/{e['clean']} [{kinds}]")
    return " | ".join(line)


def rules(splits: list[str]) -> None:
    honest = [s for split in CALIBRATION for s in load(split) if s["scenario"] == "honest"]
    sets = {split: load(split) for split in splits}
    for rule in RULES:
        print(report(rule, honest, sets), flush=True)


def host_goods(truth: dict, box: dict) -> str:
    """The declared goods loaded where an object's box is centred."""
    x = (box["x0"] + box["x1"]) / 2
    stretches = [g for c in truth["containers"] for g in c["contents"] if g["x0"] <= x <= g["x1"]]
    return stretches[0]["goods"] if stretches else "none"


def hosts(splits: list[str]) -> None:
    """Objects other than false walls localised by the shipped rule, by kind and host goods."""
    calib = [s for split in CALIBRATION for s in load(split) if s["scenario"] == "honest"]
    rule = RULES[0]
    threshold = float(np.quantile([max((r[0] for r in regions(s, rule)), default=0.0) for s in calib], 1 - FALSE_ALARM_RATE))
    found, total = {}, {}
    for split in splits:
        for s in load(split):
            truth = read_json(DATA / split / s["name"] / "truth.json")
            marked = [b for st, b in regions(s, rule) if st > threshold]
            for o, (x0, y0, x1, y1) in zip(truth["concealed_objects"], s["boxes"]):
                if o["kind"] == "false_wall":
                    continue
                key = (o["kind"], host_goods(truth, o["box"]))
                total[key] = total.get(key, 0) + 1
                found[key] = found.get(key, 0) + any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in marked)
    for key in sorted(total):
        print(f"{key[0]:24s} {key[1]:22s} {found[key]:3d} of {total[key]}")


def without_margins(scan: dict, split: str, bottom: int, ends: int) -> dict:
    """The scan with its cells within `bottom` px of the interiors' floor or `ends` px of their
    ends set to 0."""
    truth = read_json(DATA / split / scan["name"] / "truth.json")
    keep = np.zeros(scan["top"].shape, dtype=bool)
    for container in truth["containers"]:
        b = container["interior"]
        keep[b["y0"] // CELL : -(-(b["y1"] - bottom) // CELL), (b["x0"] + ends) // CELL : -(-(b["x1"] - ends) // CELL)] = True
    return dict(scan, top=np.where(keep, scan["top"], 0.0))


def margins(splits: list[str]) -> None:
    """The shipped rule without the cells at the floor or the ends, where honest loads have
    their structure (floor cross members, corner posts, doors)."""
    calib = [(split, s) for split in CALIBRATION for s in load(split) if s["scenario"] == "honest"]
    sets = {split: load(split) for split in splits}
    rule = RULES[0]
    for bottom, ends in [(0, 0), (8, 0), (16, 0), (32, 0), (0, 16), (0, 32), (16, 16)]:
        honest = [max((r[0] for r in regions(without_margins(s, split, bottom, ends), rule)), default=0.0) for split, s in calib]
        threshold = float(np.quantile(honest, 1 - FALSE_ALARM_RATE))
        line = [f"floor {bottom:2d} px, ends {ends:2d} px: T={threshold:.4f}"]
        for split, scans in sets.items():
            masked = [without_margins(s, split, bottom, ends) for s in scans]
            cands = [regions(m, rule) for m in masked]
            e = evaluate(masked, cands, threshold)
            alone = evaluate(masked, cands, threshold, wall_check=False)["auroc"]
            line.append(f"{split}: auc alone {alone:.3f} loc {e['found']}/{e['objects']} fa {e['alarms']}/{e['clean']}")
        print(" | ".join(line), flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "maps":
        for split in args:
            cache_split(split)
    elif command == "hosts":
        hosts(args)
    elif command == "margins":
        margins(args)
    else:
        rules(args)
