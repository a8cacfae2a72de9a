"""EXPERIMENT (issue 4): do context scores separate concealment scans from the others?
Reads the block features of context_features.py; per block a score, per scan the max;
prints scan-level AUROC (concealment scans vs all others, as `scantriage eval` counts it) and
the share of concealed objects with a block above the threshold that flags 1 % of the blocks
of honest scans (same split). Nothing here is fitted: every score compares a block with
other blocks of its own container.

Score names (pick any on the command line; `--kinds` adds AUROC per concealment kind):
ring_* (block minus the median of a ring around it), min8_* (above all 8 neighbours),
row_knn_* (nearest twin patch at the same height), cknn_* (rarity of the block's (c0, c1)
within its container), +m (container ends and roof blocks zeroed), +norm (per container).

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_scores.py val"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

from training.common import DATA

torch.set_num_threads(1)
CACHE = DATA / "experiments" / "context"


def auroc(pos, neg):
    pos, neg = np.asarray(pos), np.asarray(neg)
    gt = (pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()
    return gt / (len(pos) * len(neg))


def neighbours(x: torch.Tensor, d: int) -> torch.Tensor:
    """Values of [C, H, W] at offsets (±d, 0), (0, ±d), (±d, ±d): [8, C, H, W] (edge-replicated)."""
    p = F.pad(x[None], (d, d, d, d), mode="replicate")[0]
    H, W = x.shape[1:]
    offs = [(dy, dx) for dy in (-d, 0, d) for dx in (-d, 0, d) if (dy, dx) != (0, 0)]
    return torch.stack([p[:, d + dy : d + dy + H, d + dx : d + dx + W] for dy, dx in offs])


def ring_median(x: torch.Tensor, r: int, inner: int) -> torch.Tensor:
    """Median of [C, H, W] over a (2r+1)^2 window without its central (2 inner+1)^2 part."""
    C, H, W = x.shape
    p = F.pad(x[None], (r, r, r, r), mode="replicate")
    u = F.unfold(p, 2 * r + 1).view(C, 2 * r + 1, 2 * r + 1, H * W)
    keep = torch.ones(2 * r + 1, 2 * r + 1, dtype=torch.bool)
    keep[r - inner : r + inner + 1, r - inner : r + inner + 1] = False
    return u[:, keep].median(dim=1).values.view(C, H, W)


def smooth(x: torch.Tensor, k: int) -> torch.Tensor:
    return F.avg_pool2d(x[None], k, 1, k // 2, count_include_pad=False)[0][:, : x.shape[1], : x.shape[2]]


SCORES = {
    # c0 above the median of a ring 3-6 blocks (24-48 cm) away
    "ring_c0": lambda f: (smooth(f[:1], 3) - ring_median(smooth(f[:1], 3), 6, 2))[0],
    # c0 above every one of 8 neighbours 4 blocks (32 cm) away: min over directions
    "min8_c0_d4": lambda f: (smooth(f[:1], 3) - neighbours(smooth(f[:1], 3), 4)).amin(0)[0],
    "min8_c0_d6": lambda f: (smooth(f[:1], 5) - neighbours(smooth(f[:1], 5), 6)).amin(0)[0],
    # dual-energy difference unlike the ring's
    "ring_c1": lambda f: (smooth(f[1:2], 3) - ring_median(smooth(f[1:2], 3), 6, 2)).abs()[0],
    # texture (std) above the ring's
    "ring_std": lambda f: (smooth(f[2:3], 3) - ring_median(smooth(f[2:3], 3), 6, 2))[0],
}


def evaluate(rows, name, fn, row_fn=None):
    """`fn` maps a container's features to a block score map; or `row_fn` maps the row."""
    scans, honest_blocks = {}, []
    per_row = []
    for r in rows:
        s = (row_fn(r) if row_fn else fn(torch.from_numpy(r["f"]))).numpy()
        per_row.append(s)
        key = r["scan"]
        scans.setdefault(key, [r["n_objects"] > 0, -np.inf, r])
        scans[key][1] = max(scans[key][1], float(s.max()))
        if r["scenario"] == "honest":
            honest_blocks.append(s.ravel())
    th = np.quantile(np.concatenate(honest_blocks), 0.99)
    found, total = 0, 0
    for r, s in zip(rows, per_row):
        for k in range(r["n_objects"]):
            m = r["obj"] == k
            if m.any() and r["container"] == min(c["container"] for c in rows if c["scan"] == r["scan"] and (c["obj"] == k).any()):
                total += 1
                found += bool((s[m] > th).any())
    pos = [v[1] for v in scans.values() if v[0]]
    neg = [v[1] for v in scans.values() if not v[0]]
    hon = [v[1] for v in scans.values() if v[2]["scenario"] == "honest"]
    print(f"{name:14s} AUROC {auroc(pos, neg):.3f}  objects localised at 1% block FAR {found}/{total}"
          f"  honest scans with an alarm {sum(h > th for h in hon)}/{len(hon)}", flush=True)


def patches(f: torch.Tensor, p: int) -> torch.Tensor:
    """Descriptor of the p x p blocks from each block (top-left): [H, W, C*p*p], edge-replicated."""
    C, H, W = f.shape
    x = F.pad(f[None], (0, p - 1, 0, p - 1), mode="replicate")
    return F.unfold(x, p).view(C * p * p, H, W).permute(1, 2, 0)


def row_knn(f: torch.Tensor, p: int = 4, excl: int = 4, dy: int = 1, w=(1.0, 0.25, 0.0)) -> torch.Tensor:
    """Distance from each block's patch to the nearest patch of the same container at the same
    height (rows within ±dy) at least `excl` blocks away along the scan: goods are loaded in
    repeating stacks, so honest patches find a twin; hidden goods (added depth) do not."""
    scale = torch.tensor(w, dtype=f.dtype)[:, None, None]
    d = patches(f * scale, p)  # [H, W, D]
    H, W, _ = d.shape
    out = torch.full((H, W), float("inf"))
    cols = torch.arange(W)
    far = (cols[:, None] - cols[None, :]).abs() >= excl  # [W, W]
    for y in range(H):
        for yy in range(max(0, y - dy), min(H, y + dy + 1)):
            dist = torch.cdist(d[y], d[yy])  # [W, W]
            dist[~far] = float("inf")
            out[y] = torch.minimum(out[y], dist.min(1).values)
    out[torch.isinf(out)] = 0.0
    return out


SCORES.update({
    "row_knn_c0": lambda f: row_knn(f, w=(1.0, 0.0, 0.0)),
    "row_knn_c0c1": lambda f: row_knn(f, w=(1.0, 0.1, 0.0)),
    "row_knn_all": lambda f: row_knn(f, w=(1.0, 0.1, 1.0)),
})


def margin(s: torch.Tensor, mx: int = 3, my: int = 1) -> torch.Tensor:
    """Zero the blocks next to the interior's ends and roof (container structure, not cargo)."""
    s = s.clone()
    s[:my] = 0
    s[:, :mx] = 0
    s[:, -mx:] = 0
    return s


def per_container(s: torch.Tensor, q: float = 0.95) -> torch.Tensor:
    """The score against the container's own spread: what is rare for THIS load stands out."""
    med = s.median()
    return (s - med) / (torch.quantile(s.flatten(), q) - med + 0.02)


for base in ["min8_c0_d4", "row_knn_c0", "row_knn_all", "ring_c0", "ring_c1"]:
    fn = SCORES[base]
    SCORES[base + "+m"] = lambda f, fn=fn: margin(fn(f))
    SCORES[base + "+m+norm"] = lambda f, fn=fn: per_container(margin(fn(f)))


def container_knn(f: torch.Tensor, k: int = 20, excl: int = 8, w1: float = 0.25, sm: int = 3,
                  wy: float = 0.0, wstd: float = 0.0, upward: float | None = None) -> torch.Tensor:
    """Rarity of a block's (c0, c1) pair within its own container: distance to the k-th nearest
    block at least `excl` blocks away. Hidden goods are added on top of the goods, so their
    blocks leave the container's own attenuation / dual-energy curve. With `upward` = tau, only
    blocks at least as attenuating (c0 >= own - tau) count as twins: hidden goods only ADD
    attenuation, so rarity on the low side (gaps, load ends) is not counted."""
    g = smooth(torch.stack([f[0], w1 * f[1], wstd * f[2]]), sm)
    H, W = g.shape[1:]
    if wy:  # height in the container as a feature: the same goods at the same height
        g = torch.cat([g, wy * torch.linspace(0, 1, H)[None, :, None].expand(1, H, W)])
    x = g.reshape(len(g), -1).T
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    pos = torch.stack([yy.flatten(), xx.flatten()], 1)
    out = torch.empty(H * W)
    for i in range(0, H * W, 2048):
        d = torch.cdist(x[i : i + 2048], x)
        near = (pos[i : i + 2048, None] - pos[None]).abs().amax(-1) < excl
        d[near] = float("inf")
        if upward is not None:
            d[x[None, :, 0] < x[i : i + 2048, None, 0] - upward] = float("inf")
            d = d.clamp(max=1.0)  # no twin at all: a large finite distance
        out[i : i + 2048] = d.kthvalue(k, dim=1).values
    return margin(out.view(H, W))


SCORES["cknn_c0c1"] = lambda f: container_knn(f)
SCORES["cknn_c0"] = lambda f: container_knn(f, w1=0.0)
SCORES["cknn_c0c1_k5"] = lambda f: container_knn(f, k=5)
SCORES["cknn_c0c1_k5_up"] = lambda f: container_knn(f, k=5, upward=0.01)
SCORES["cknn_c0c1_k5_y"] = lambda f: container_knn(f, k=5, wy=0.1)
SCORES["cknn_c0c1_k5_std"] = lambda f: container_knn(f, k=5, wstd=1.0)


def by_kind(rows, fn, row_fn=None):
    """Scan-level AUROC of each concealment kind against the honest scans."""
    best = {}
    for r in rows:
        s = float((row_fn(r) if row_fn else fn(torch.from_numpy(r["f"]))).max())
        key = r["scan"]
        best[key] = max(best.get(key, (-np.inf, r))[0], s), r
    hon = [v for v, r in best.values() if r["scenario"] == "honest"]
    kinds = sorted({r["kinds"][0] for _, r in best.values() if r["n_objects"]})
    return {k: round(auroc([v for v, r in best.values() if r["n_objects"] and r["kinds"][0] == k], hon), 2) for k in kinds}


def by_group(rows, row_fn, key):
    """Scan-level AUROC (concealment scans vs the others) within each group of `key(row)`."""
    best = {}
    for r in rows:
        s = float(row_fn(r).max())
        prev, first = best.get(r["scan"], (-np.inf, r))
        best[r["scan"]] = max(prev, s), first  # group by the scan's first container
    out = {}
    for g in sorted({key(r) for _, r in best.values()}):
        pos = [v for v, r in best.values() if key(r) == g and r["n_objects"]]
        neg = [v for v, r in best.values() if key(r) == g and not r["n_objects"]]
        out[g] = (round(auroc(pos, neg), 2), len(pos), len(neg)) if pos and neg else None
    return out


if __name__ == "__main__":
    rows = list(np.load(CACHE / f"{sys.argv[1]}.npy", allow_pickle=True))
    for name, fn in SCORES.items():
        if len([a for a in sys.argv[2:] if a != "--kinds"]) == 0 or name in sys.argv[2:]:
            evaluate(rows, name, fn)
            if "--kinds" in sys.argv:
                print("   ", by_kind(rows, fn), flush=True)
