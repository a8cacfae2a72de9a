"""EXPERIMENT (issue 4, README next step 2): a learned, honest-only context model for the "added
depth" cue, over whole container interiors.

Input: the 8 cm block grid of context_features.py (c0, c1/4, std c0). A grid of P x P-block
cells is masked in one of 4 phases (every 2nd cell along x and y, P random in 4-12 blocks, random
offset), so each masked cell has visible blocks on all sides; the 4 phases together mask every
block exactly once, which is how scoring covers a container. The net predicts the masked blocks'
c0 and c1 AND a log-variance for each, from:
- local context: a dilated conv stack (receptive field about 5 m along the scan, the full height);
- depth-aware inputs: the block's height, and the mean of the visible blocks of its column
  (the stack above and below) and of its row (the other stacks at that height);
- container context: masked mean and max of an embedding of all visible blocks, i.e. this
  load's own attenuation / dual-energy curve (what the cknn baseline compares against).
The Gaussian NLL lets the net say "unpredictable here" (machinery, scrap: the honest loads the
hand-made scores raise false alarms on) instead of averaging those errors into the mean.
Trained only on honest train scans. Scores: `res` = positive c0 residual + |c1 residual| (hidden
goods only ADD attenuation), `z` = the same divided by the predicted std. Variant `guard` also
hides a band around each masked cell (VARIANTS). Training is time-boxed, so the step count (and
the weights) depend on the machine's load.

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 \
    training/.venv/bin/python training/experiments/context_learned.py train 1500 [--variant guard]  # seconds
    ... context_learned.py eval val_big [--variant guard] [--p 6] [res z cknn+z_sum ...]  # all when none named"""
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from training.experiments.context_inpaint import grid
from training.experiments.context_post import blur, cached_maps
from training.experiments.context_scores import CACHE, by_group, by_kind, evaluate, margin

torch.set_num_threads(1)
OUT = CACHE / "big"
CH = 48


# variant -> (cells masked every ky-th along y and kx-th along x, guard band gy, gx in blocks).
# "guard" also hides a band around each masked cell from the input, as the cknn baseline only
# counts twins >= 64 cm away: an object larger than a cell must not predict itself.
VARIANTS = {"base": (2, 2, 0, 0), "guard": (2, 4, 1, 4)}


def cell_mask(H: int, W: int, p: int, phase: int, oy: int = 0, ox: int = 0, ky: int = 2, kx: int = 2) -> torch.Tensor:
    """1 on every ky-th / kx-th p x p cell along y / x, in one of ky * kx phases: [H, W]."""
    yy = ((torch.arange(H) + oy) // p) % ky == phase // kx
    xx = ((torch.arange(W) + ox) // p) % kx == phase % kx
    return (yy[:, None] & xx[None, :]).float()


def masks(variant: str, H: int, W: int, p: int, phase: int, oy: int = 0, ox: int = 0):
    """(blocks to predict, blocks hidden from the input) for one phase, each [1, 1, H, W]."""
    ky, kx, gy, gx = VARIANTS[variant]
    m = cell_mask(H, W, p, phase, oy, ox, ky, kx)[None, None]
    return m, F.max_pool2d(m, (2 * gy + 1, 2 * gx + 1), 1, (gy, gx)) if gy or gx else m


def line_mean(g: torch.Tensor, w: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean of the visible blocks along `dim` (2 = column, 3 = row), broadcast back."""
    return ((g * w).sum(dim, keepdim=True) / w.sum(dim, keepdim=True).clamp(min=1)).expand_as(g)


class ContextNet(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 3 + 1 + 1 + 3 + 3
        for d in (1, 2, 4, 8, 16, 1):
            layers += [nn.Conv2d(cin, CH, 3, padding=d, dilation=d), nn.ReLU(inplace=True)]
            cin = CH
        self.local = nn.Sequential(*layers)
        self.embed = nn.Sequential(nn.Conv2d(4, 32, 1), nn.ReLU(), nn.Conv2d(32, 32, 1), nn.ReLU())
        self.glob = nn.Linear(64, CH)
        self.head = nn.Sequential(nn.Conv2d(CH, CH, 1), nn.ReLU(), nn.Conv2d(CH, 4, 1))

    def forward(self, g: torch.Tensor, m: torch.Tensor):
        """g [1, 3, H, W], m [1, 1, H, W] (1 = hidden) -> mean [1, 2, H, W], log-variance [1, 2, H, W]."""
        H = g.shape[2]
        w = 1 - m
        y = torch.linspace(0, 1, H)[None, None, :, None].expand_as(m)
        x = torch.cat([g * w, m, y, line_mean(g, w, 2), line_mean(g, w, 3)], 1)
        e = self.embed(torch.cat([g, y], 1))
        pooled = torch.cat([(e * w).sum((2, 3)) / w.sum(), (e - 1e4 * m).amax((2, 3))], 1)
        out = self.head(self.local(x) + self.glob(pooled)[:, :, None, None])
        return out[:, :2], out[:, 2:].clamp(-14, 4)


def train(seconds: float, variant: str) -> ContextNet:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    gs = [grid(r)[None] for r in np.load(CACHE / "train.npy", allow_pickle=True) if r["scenario"] == "honest"]
    net = ContextNet()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    start, step, hist = time.time(), 0, []
    while time.time() - start < seconds:
        g = gs[rng.integers(len(gs))]
        if rng.random() < 0.5:
            g = g.flip(3)  # scan direction is arbitrary
        H, W = g.shape[2:]
        ky, kx, _, gx = VARIANTS[variant]
        p = int(rng.integers(4, 13 if not gx else 7))  # guard: the band must fit between cells
        m, hidden = masks(variant, H, W, p, int(rng.integers(ky * kx)), int(rng.integers(p)), int(rng.integers(p)))
        mu, lv = net(g, hidden)
        nll = 0.5 * ((g[:, :2] - mu) ** 2 * torch.exp(-lv) + lv)
        loss = (nll * m).sum() / m.sum() / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        hist.append(loss.item())
        if step % 1000 == 0:
            print(f"  step {step} nll {np.mean(hist[-1000:]):.3f} ({time.time() - start:.0f} s)", flush=True)
    print(f"trained {step} steps in {time.time() - start:.0f} s", flush=True)
    return net.eval()


def residuals(net: ContextNet, r, p: int = 6, variant: str = "base"):
    """Per block, over all phases: positive c0 residual, |c1 residual| and predicted stds."""
    g = grid(r)[None]
    H, W = g.shape[2:]
    out = torch.zeros(4, H, W)
    with torch.no_grad():
        for phase in range(VARIANTS[variant][0] * VARIANTS[variant][1]):
            m, hidden = masks(variant, H, W, p, phase)
            mu, lv = net(g, hidden)
            res = g[0, :2] - mu[0]
            out += torch.cat([res[:1].clamp(min=0), res[1:].abs(), (0.5 * lv[0]).exp()]) * m[0]
    return out


SCORES = {
    "res": lambda q: q[0] + q[1],
    "z": lambda q: q[0] / q[2] + q[1] / q[3],
    "z_c0": lambda q: q[0] / q[2],
    "z_blur3": lambda q: blur(q[0] / q[2] + q[1] / q[3], 3),
    "res_blur3": lambda q: blur(q[0] + q[1], 3),
}


def load(split: str, net: ContextNet, p: int, variant: str) -> list:
    """Rows of a split with the learned residual maps `q` (cells of p blocks) and the cknn raw map, both cached."""
    rows = list(np.load(CACHE / f"{split}.npy", allow_pickle=True))
    path = OUT / f"{split}_learned{TAG[variant]}_p{p}.npy"
    if not path.exists():
        maps = np.empty(len(rows), dtype=object)  # np.array would stack same-shaped maps
        for i, r in enumerate(rows):
            maps[i] = residuals(net, r, p, variant).numpy()
        np.save(path, maps, allow_pickle=True)
    for r, q, c in zip(rows, np.load(path, allow_pickle=True), cached_maps(split, rows)):
        r["q"], r["cknn"] = torch.from_numpy(q), torch.from_numpy(c)
    return rows


def honest_q99(rows, fn) -> float:
    return float(np.quantile(np.concatenate([fn(r).numpy().ravel() for r in rows if r["scenario"] == "honest"]), 0.99))


def option(args: list, name: str, default):
    """Removes `name value` from args; the value (or the default)."""
    if name not in args:
        return default
    i = args.index(name)
    value = args[i + 1]
    del args[i : i + 2]
    return type(default)(value)


TAG = {"base": "", "guard": "_guard"}

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    args = sys.argv[2:]
    variant = option(args, "--variant", "base")
    p = option(args, "--p", 6)  # scoring cell size, blocks
    weights = OUT / f"context_net{TAG[variant]}.pt"
    if sys.argv[1] == "train":
        torch.save(train(float(args[0]), variant).state_dict(), weights)
        sys.exit()
    net = ContextNet()
    net.load_state_dict(torch.load(weights))
    net.eval()
    rows = load(args[0], net, p, variant)
    fns = {k: (lambda r, fn=fn: margin(fn(r["q"]))) for k, fn in SCORES.items()}
    # combos: each map divided by its 99th percentile over honest VAL_BIG blocks (no labels used),
    # the same constants on every split
    calib = load("val_big", net, p, variant) if args[0] != "val_big" else rows
    for k in ("z", "res"):
        qa, qb = honest_q99(calib, fns[k]), honest_q99(calib, lambda r: r["cknn"])
        fns[f"cknn+{k}_max"] = lambda r, k=k, qa=qa, qb=qb: torch.maximum(fns[k](r) / qa, r["cknn"] / qb)
        fns[f"cknn+{k}_sum"] = lambda r, k=k, qa=qa, qb=qb: fns[k](r) / qa + r["cknn"] / qb
    for name, row_fn in fns.items():
        if len(args) > 1 and name not in args[1:]:
            continue
        evaluate(rows, f"learned{TAG[variant]}_p{p}_{name}", None, row_fn)
        print("   ", by_kind(rows, None, row_fn))
        print("    by dose:", by_group(rows, row_fn, lambda r: r["dose"]), flush=True)
