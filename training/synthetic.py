"""Generic synthetic defects for training the anomaly model on honest tiles only.

No concealment scan is ever used. Instead, honest tiles get random extra material of random
shape (boxes, ellipses, rotated bars), random mass thickness and random effective atomic number,
added the way the physics adds it: the line integrals grow, so attenuation rises by
`mu_high * m` in the high and `ratio * mu_high * m` in the low image, the photon noise grows with
the lost transmission, and the detector blur softens the outline. The model then learns what
"material added on top of what is there" looks like against every honest texture, including
the floor, the container ends and heterogeneous goods that an autoencoder finds unusual.

Works on batches of model tiles (preprocess.py, spec v1) in torch.
"""

import math

import torch
import torch.nn.functional as F

from training import preprocess as pp
from training.models import MAP_CELL

# Attenuation of a pixel value of 1 (of 65535): the preprocessing's ceiling.
A_MAX = math.log(65535.0)
# Range of low/high attenuation ratios of real materials (lead ~1.40 .. plastics ~1.60).
RATIO_RANGE = (1.38, 1.62)
# Added high-energy attenuation of one defect, log-uniform.
DELTA_RANGE = (0.08, 3.0)
# Half sizes in px (tile = 64 px = 32 cm), log-uniform.
HALF_SIZE_RANGE = (1.5, 40.0)
BAR_HALF_WIDTH_RANGE = (0.8, 3.0)
DEFECT_SHARE = 0.5  # tiles that get defects
MAX_DEFECTS = 3
# High-energy attenuation above which a pixel sees goods (~7 g/cm² of organic goods).
GOODS_ATTENUATION = 0.3
# A cell counts as defective when this share of it got material above the visibility floor.
CELL_COVER = 0.25
# A tile covered this much shows no outline of the defect: its cells are left out of the loss.
HIDDEN_COVER = 0.95


def log_uniform(shape, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return torch.exp(torch.empty(shape).uniform_(math.log(lo), math.log(hi), generator=gen))


def noise_scale(a: torch.Tensor) -> torch.Tensor:
    """Per tile, k with photon-noise std ~ k * exp(a / 2) (Poisson: var = 1 / counts), estimated
    robustly from differences of horizontal neighbours. [b, H, W] -> [b, 1, 1]."""
    d = (a[:, :, 1:] - a[:, :, :-1]).abs()
    level = torch.exp(0.5 * (a[:, :, 1:] + a[:, :, :-1]))
    # median |N(0, 2 s^2)| = 0.954 s
    return (d / level).flatten(1).median(dim=1).values.view(-1, 1, 1) / 0.954


def shape_masks(used: torch.Tensor, gen: torch.Generator, size: int = pp.TILE_SIZE,
                half_sizes: tuple[float, float] = HALF_SIZE_RANGE) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes (70 % axis-aligned), ellipses and bars, one per True of `used` [batch, per_tile], in
    its order: masks [n, w, w] and where their pixels lie, as flat indices into the batch of
    tiles [batch, size, size]. Each mask covers a w x w window that holds the shape, w the
    largest shape's bounding box. Shapes are drawn for every slot, so the random numbers do not
    depend on how many are used; only the used ones are rasterised, and only in the window."""
    n = used.numel()
    centre = torch.empty(n, 2).uniform_(-8.0, size + 8.0, generator=gen)
    half = log_uniform((n, 2), *half_sizes, gen)
    kind = torch.randint(0, 3, (n,), generator=gen)  # 0 box, 1 ellipse, 2 bar
    bar = kind == 2
    half[bar, 0] = log_uniform((int(bar.sum()),), 5.0, 30.0, gen)
    half[bar, 1] = torch.empty(int(bar.sum())).uniform_(*BAR_HALF_WIDTH_RANGE, generator=gen)
    angle = torch.empty(n).uniform_(0.0, math.pi, generator=gen)
    upright = (kind == 0) & (torch.rand(n, generator=gen) < 0.7)
    angle = torch.where(upright, torch.zeros_like(angle), angle)
    keep = used.flatten()
    centre, half, kind, angle = centre[keep], half[keep], kind[keep], angle[keep]
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Half extents of the rotated box, which holds the ellipse too; one pixel more for rounding.
    reach = torch.stack([(half[:, 0] * cos).abs() + (half[:, 1] * sin).abs(),
                         (half[:, 0] * sin).abs() + (half[:, 1] * cos).abs()], dim=1) + 1.0
    window = min(size, int(torch.ceil(2.0 * reach).max()) + 1) if len(reach) else 1
    origin = torch.floor(centre - reach).long().clamp(0, size - window)  # (x, y)
    steps = torch.arange(window)
    xs, ys = origin[:, 0, None] + steps, origin[:, 1, None] + steps  # [n, window]
    dx = (xs + 0.5 - centre[:, 0, None])[:, None, :]
    dy = (ys + 0.5 - centre[:, 1, None])[:, :, None]
    cos, sin = cos[:, None, None], sin[:, None, None]
    u = (dx * cos + dy * sin) / half[:, 0, None, None]
    v = (-dx * sin + dy * cos) / half[:, 1, None, None]
    inside = torch.where((kind == 1)[:, None, None], u**2 + v**2 <= 1.0, (u.abs() <= 1.0) & (v.abs() <= 1.0))
    tile = keep.nonzero()[:, 0] // used.shape[1]
    return inside.float(), (tile[:, None, None] * size + ys[:, :, None]) * size + xs[:, None, :]


def blur(x: torch.Tensor) -> torch.Tensor:
    """The detector's blur (sigma ~0.7 px) on [b, H, W], zero outside. Nine fused multiply-adds
    in the kernel's row order: on this machine they gave F.conv2d(padding=1)'s bits for 300
    training batches, and oneDNN's kernel took 15 ms a batch for this single channel, a third
    of an anomaly training step."""
    k = torch.tensor([0.2, 0.6, 0.2])
    kernel = k[:, None] * k[None, :]
    h, w = x.shape[1:]
    padded = F.pad(x, (1, 1, 1, 1))
    out = torch.zeros_like(x)
    for i in range(3):
        for j in range(3):
            out = torch.addcmul(out, padded[:, i : i + h, j : j + w], kernel[i, j])
    return out


def add_defects(tiles: torch.Tensor, gen: torch.Generator, half_sizes: tuple[float, float] = HALF_SIZE_RANGE,
                max_defects: int = MAX_DEFECTS) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Honest tiles [b, 2, 64, 64] -> (tiles with defects, cell targets [b, 1, 16, 16],
    cell weights [b, 1, 16, 16]). About DEFECT_SHARE of the tiles get 1..max_defects defects.
    Square crops of any size work alike (the maps are then size / MAP_CELL wide)."""
    b = tiles.shape[0]
    dual = tiles[:, 1].flatten(1).abs().amax(dim=1) > 0
    a_high = tiles[:, 0] * pp.ATTENUATION_SCALE
    a_low = pp.DUAL_ENERGY_RATIO * a_high + pp.DIFFERENCE_SCALE * tiles[:, 1]

    count = torch.randint(1, max_defects + 1, (b,), generator=gen)
    count = torch.where(torch.rand(b, generator=gen) < DEFECT_SHARE, count, torch.zeros_like(count))
    used = torch.arange(max_defects)[None, :] < count[:, None]
    masks, where = shape_masks(used, gen, tiles.shape[-1], half_sizes)
    delta = log_uniform((b, max_defects), *DELTA_RANGE, gen)[used]
    ratio = torch.empty(b, max_defects).uniform_(*RATIO_RANGE, generator=gen)[used]
    # Only inside goods: an object standing in air is what honest loads are made of.
    masks = masks * (a_high > GOODS_ATTENUATION).float().flatten()[where]
    where = where.flatten()
    per_tile = lambda per_defect: torch.zeros(a_high.numel()).index_add_(0, where, per_defect.flatten()).view_as(a_high)
    add_high = blur(per_tile(masks * delta[:, None, None]))
    add_low = blur(per_tile(masks * (delta * ratio)[:, None, None]))

    high_noise = noise_scale(a_high)

    def thicker(a: torch.Tensor, add: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        extra_var = k**2 * (torch.exp(torch.clamp(a + add, max=A_MAX)) - torch.exp(a))
        noise = torch.randn(a.shape, generator=gen) * torch.sqrt(extra_var.clamp(min=0.0))
        return torch.clamp(a + add + noise, 0.0, A_MAX)

    new_high, new_low = thicker(a_high, add_high, high_noise), thicker(a_low, add_low, noise_scale(a_low))
    c0 = torch.clamp(new_high / pp.ATTENUATION_SCALE, 0.0, pp.C0_MAX)
    c1 = torch.clamp((new_low - pp.DUAL_ENERGY_RATIO * new_high) / pp.DIFFERENCE_SCALE, -pp.C1_LIMIT, pp.C1_LIMIT)
    c1 = torch.where(dual[:, None, None], c1, torch.zeros_like(c1))
    out = torch.stack([c0, c1], dim=1)

    # Visible where the added attenuation stands out of the pixel noise, and below saturation.
    sigma = high_noise * torch.exp(0.5 * a_high)
    visible = ((add_high > torch.clamp(0.5 * sigma, min=0.04)) & (a_high + add_high < A_MAX - 0.5)).float()
    cover = F.avg_pool2d(visible[:, None], MAP_CELL)
    target = (cover >= CELL_COVER).float()
    hidden = (per_tile(masks) > 0).flatten(1).float().mean(dim=1) >= HIDDEN_COVER
    weight = torch.where(hidden[:, None, None, None], torch.zeros_like(target), torch.ones_like(target))
    return out, target, weight
