"""EXPERIMENT (issue 4): a learned context model, trained on honest train containers only. The
block grid (c0, c1/4, std c0 per 8 cm block; context_features.py) is masked in a checkerboard
of 4 x 4-block (32 cm) patches; a small dilated conv net predicts the masked blocks' c0 and c1
from the unmasked surroundings. Hidden goods ADD attenuation that the surroundings do not
predict, so the score is the positive c0 residual plus the absolute c1 residual. Two passes
(both checkerboard phases) score every block.

PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 taskset -c 1 training/.venv/bin/python \
    training/experiments/context_inpaint.py val test"""
import sys
import time

import numpy as np
import torch
from torch import nn

from training.experiments.context_scores import CACHE, by_group, by_kind, evaluate, margin

torch.set_num_threads(1)
torch.manual_seed(0)
P = 4  # masked patch, blocks
SCALE = torch.tensor([1.0, 0.25, 1.0])[:, None, None]


def mask_for(H: int, W: int, phase: int, oy: int = 0, ox: int = 0) -> torch.Tensor:
    yy = (torch.arange(H)[:, None] + oy) // P
    xx = (torch.arange(W)[None, :] + ox) // P
    return ((yy + xx) % 2 == phase).float()


class Inpaint(nn.Module):
    def __init__(self, ch: int = 32):
        super().__init__()
        layers, cin = [], 4
        for d in (1, 2, 4, 8, 1):
            layers += [nn.Conv2d(cin, ch, 3, padding=d, dilation=d), nn.ReLU(inplace=True)]
            cin = ch
        self.body = nn.Sequential(*layers, nn.Conv2d(ch, 2, 1))

    def forward(self, g: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """g [B, 3, H, W] features, m [B, 1, H, W] mask (1 = hidden) -> predicted c0, c1."""
        return self.body(torch.cat([g * (1 - m), m], 1))


def grid(r) -> torch.Tensor:
    return torch.from_numpy(r["f"]) * SCALE


def train(rows, seconds: float = 240) -> Inpaint:
    net = Inpaint()
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    gs = [grid(r) for r in rows if r["scenario"] == "honest"]
    start, step = time.time(), 0
    while time.time() - start < seconds:
        g = gs[np.random.randint(len(gs))]
        H, W = g.shape[1:]
        if np.random.rand() < 0.5:
            g = g.flip(2)
        if np.random.rand() < 0.2:
            g = g.clone(); g[1] = 0  # single-energy
        m = mask_for(H, W, np.random.randint(2), np.random.randint(P), np.random.randint(P))[None, None]
        pred = net(g[None], m)
        loss = (((pred - g[None, :2]) ** 2) * m).sum() / m.sum() / 2
        opt.zero_grad(); loss.backward(); opt.step()
        step += 1
        if step % 500 == 0:
            print(f"  step {step} loss {loss.item():.5f} ({time.time() - start:.0f} s)", flush=True)
    return net.eval()


def score_map(net: Inpaint, r) -> torch.Tensor:
    g = grid(r)
    H, W = g.shape[1:]
    out = torch.zeros(H, W)
    with torch.no_grad():
        for phase in (0, 1):
            m = mask_for(H, W, phase)[None, None]
            res = g[None, :2] - net(g[None], m)
            s = res[0, 0].clamp(min=0) + res[0, 1].abs()
            out += s * m[0, 0]
    return margin(out)


if __name__ == "__main__":
    np.random.seed(0)
    net = train(list(np.load(CACHE / "train.npy", allow_pickle=True)))
    for split in sys.argv[1:]:
        rows = list(np.load(CACHE / f"{split}.npy", allow_pickle=True))
        for r in rows:
            r["inpaint"] = score_map(net, r)
        row_fn = lambda r: r["inpaint"]
        evaluate(rows, f"inpaint_{split}", None, row_fn)
        print("   ", by_kind(rows, None, row_fn))
        print("    by dose:", by_group(rows, row_fn, lambda r: r["dose"]), flush=True)
