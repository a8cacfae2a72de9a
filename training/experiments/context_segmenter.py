"""EXPERIMENT (issue 4): an anomaly model that sees more than a 32 cm tile.

Anomaly model 1.2.4 finds synthetic defects (training/synthetic.py) in 64 px tiles, so a
package larger than a tile shows only its outline in some of them, and a steel part has no
surroundings to be judged against. This model is fully convolutional: trained on 192 px
(96 cm) crops of honest train interiors with defects up to 120 cm wide, it sees about 2.5 m
around each cell, and at inference it takes a whole container interior at once (no tiles), with
the same 4 px map cells as 1.2.4. Everything else is as in train_anomaly.py: honest scans only,
threshold at 5 % of the 273 honest scans of val and calib, maps compared through
region_rules.py's shipped rule (max cell of each region).

Rule fixed before running: worth an interface change only if, on both val_big and mix_val,
the model alone has a higher AUROC than 1.2.4 in the same replay (0.739, 0.782), localises
more objects other than false walls (76 of 152, 19 of 32), and alarms on at most one scan
without concealment more (4 of 60, 3 of 115).

    train STEPS     train on the train split (python -m training.datagen makes it); CONTEXT_RUN
                    names the run, the other CONTEXT_* variables below set its variant
    maps SPLIT...   cache each scan's map in region_rules.py's format
    rules SPLIT...  threshold from val + calib, then the shipped rule on each split
    probe           the trained network on fresh synthetic defects (eval and train mode)

PYTHONPATH=. training/.venv/bin/python training/experiments/context_segmenter.py train 6000
"""
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
import torch
import torch.nn.functional as F
from torch import nn

from training import preprocess as pp
from training import train_anomaly as ta
from training.common import DATA, MODELS, read_json
from training.dataset import read_png16
from training.experiments import region_rules as rr
from training.models import MAP_CELL, DefectSegmenter, conv_bn
from training.synthetic import add_defects

SEED = 4321
# CONTEXT_CROP=64 CONTEXT_BATCH=128: 1.2.1's tiles and batches, to check the pipeline itself.
CROP = int(os.environ.get("CONTEXT_CROP", "192"))
BATCH = int(os.environ.get("CONTEXT_BATCH", "16"))
LEARNING_RATE = float(os.environ.get("CONTEXT_LR", "3e-3"))
# Half sizes of the defects, px: 1.2.4's (1.5, 40) grown to a crop's size; CONTEXT_HALF_MAX sets the top.
HALF_SIZES = (1.5, float(os.environ.get("CONTEXT_HALF_MAX", "120")))
# Up to this many defects in a crop that gets any (CONTEXT_MAX_DEFECTS): 3, as for a tile, left
# 9 times fewer per area than 1.2.4 saw (training/experiments/README.md).
MAX_DEFECTS = int(os.environ.get("CONTEXT_MAX_DEFECTS", "16"))
# CONTEXT_MINE=1: hard negatives as in train_anomaly.py, by crop. An epoch is as many pixels
# as its TILES_PER_EPOCH tiles; from its epoch MINE_FROM on, at the start of each epoch, the
# HARD_POOL of MINE_SAMPLE tiles' worth of random honest crops with the highest peak cell;
# HARD_SHARE of each batch is drawn from them. (Before 1.2.x's own network was run here, the
# `dense_mined` run mined 80 of 1 600 crops every 400 steps from 15 % of the steps on.)
MINE = os.environ.get("CONTEXT_MINE") == "1"
TILES_PER_CROP = (CROP / pp.TILE_SIZE) ** 2
STEPS_PER_EPOCH = round(ta.TILES_PER_EPOCH / TILES_PER_CROP / BATCH)
MINE_SAMPLE = round(ta.MINE_SAMPLE / TILES_PER_CROP)
# CONTEXT_MARGIN: crops may reach this many px past the interior into zeros (at inference the
# interior meets zeros and the convolutions' zero padding), so that they hold its edges and corners
# more often than only when they touch them.
MARGIN = int(os.environ.get("CONTEXT_MARGIN", "0"))
# CONTEXT_WHOLE=1: one whole interior a step, padded with zeros as at inference (interior_map), so
# that its edges and corners are seen as often, and where, as they are in use; interiors are drawn
# by area. No hard negatives: every epoch holds every interior's hard parts once.
WHOLE = os.environ.get("CONTEXT_WHOLE") == "1"
# CONTEXT_TILED=1: maps made crop by crop, as the model saw them in training (interior_map).
TILED = os.environ.get("CONTEXT_TILED") == "1"
MAPS = "maps_tiled" if TILED else "maps"
# CONTEXT_NET=tile: 1.2.x's own network (DefectSegmenter) in this pipeline, to tell the
# network from the sampling; CONTEXT_NET=tile_context: the ContextSegmenter with DefectSegmenter's
# nearest-neighbour merging, i.e. DefectSegmenter plus the 32 and 64 px stages.
NET = os.environ.get("CONTEXT_NET", "context")
# CONTEXT_NORM=group: GroupNorm (GROUPS groups) instead of BatchNorm, whose statistics come from
# only a few scans in a batch of a few large crops.
GROUP_NORM = os.environ.get("CONTEXT_NORM") == "group"
GROUPS = 8
THREADS = int(os.environ.get("CONTEXT_THREADS", "2"))
# CONTEXT_FROM_SHIPPED=1: start the tile network from the committed anomaly.onnx (1.2.4) and keep
# its BatchNorms as exported (frozen), so no statistic depends on the batch or on the crop.
FROM_SHIPPED = os.environ.get("CONTEXT_FROM_SHIPPED") == "1"
# Interiors are padded to a multiple of the coarsest stride, so every stage's cells line up.
STRIDE = 64
OUT = DATA / "experiments" / "context_segmenter" / os.environ.get("CONTEXT_RUN", "dense")


class ContextSegmenter(nn.Module):
    """Per 4 px cell, the probability that material was added. Stride-2 stages down to 64 px
    (32 cm), then two 3 x 3 convs there (the second dilated), so each cell sees about 2.5 m;
    every stage's features are resized to the map (`upsample`: torch's interpolation mode) and
    merged by 1 x 1 convs."""

    def __init__(self, upsample: str = "bilinear"):
        super().__init__()
        self.upsample = upsample
        self.to4 = nn.Sequential(conv_bn(2, 16), conv_bn(16, 32))
        self.to8, self.to16, self.to32, self.to64 = conv_bn(32, 64), conv_bn(64, 64), conv_bn(64, 64), conv_bn(64, 64)
        self.wide = nn.Sequential(
            conv_bn(64, 64, stride=1),
            nn.Conv2d(64, 64, 3, padding=2, dilation=2, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.head = nn.Sequential(
            nn.Conv2d(32 + 4 * 64, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f4 = self.to4(x)
        f8 = self.to8(f4)
        f16 = self.to16(f8)
        f32 = self.to32(f16)
        f64 = self.wide(self.to64(f32))
        align = False if self.upsample == "bilinear" else None
        up = lambda f: F.interpolate(f, size=f4.shape[-2:], mode=self.upsample, align_corners=align)
        return self.head(torch.cat([f4, up(f8), up(f16), up(f32), up(f64)], dim=1))


class TileWithContext(nn.Module):
    """DefectSegmenter plus a branch that sees about 2.5 m: from its 16 px features, stride-2
    convs to 32 and 64 px and a dilated conv there, added to the head's hidden features through a
    1 x 1 conv that starts at zero, so that the model starts as the tile model it is given. The
    branch has no normalisation: nothing in it depends on the batch or on the crop."""

    def __init__(self):
        super().__init__()
        self.tile = DefectSegmenter()
        conv = lambda stride, dilation: nn.Sequential(
            nn.Conv2d(64, 64, 3, stride=stride, padding=dilation, dilation=dilation), nn.ReLU(inplace=True))
        self.context = nn.Sequential(conv(2, 1), conv(2, 1), conv(1, 2), nn.Conv2d(64, 32, 1))
        nn.init.zeros_(self.context[-1].weight)
        nn.init.zeros_(self.context[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tile = self.tile
        f16 = tile.to16(x)
        f8 = tile.to8(f16)
        f4 = tile.to4(f8)
        up = lambda f, size: F.interpolate(f, size=size, mode="nearest")
        hidden = tile.head[1](tile.head[0](torch.cat([f16, up(f8, f16.shape[-2:]), up(f4, f16.shape[-2:])], dim=1)))
        hidden = hidden + up(self.context(f4), hidden.shape[-2:])
        return tile.head[3](tile.head[2](hidden))


def load_shipped(tile: DefectSegmenter) -> None:
    """1.2.4's weights from models/anomaly.onnx. Its export folded each BatchNorm into the conv
    before it (the conv's `_bias`), so each BatchNorm becomes that bias alone."""
    state = tile.state_dict()
    for init in onnx.load(str(MODELS / "anomaly.onnx")).graph.initializer:
        if not init.name.startswith("net."):
            continue
        name, value = init.name.removeprefix("net."), torch.from_numpy(numpy_helper.to_array(init).copy())
        if not name.endswith("_bias"):
            state[name] = value
            continue
        conv = name.removesuffix(".weight_bias").split(".")
        norm = ".".join(conv[:-1] + [str(int(conv[-1]) + 1)])
        eps = next(m for n, m in tile.named_modules() if n == norm).eps
        state.update({f"{norm}.weight": torch.ones_like(value), f"{norm}.bias": value,
                      f"{norm}.running_mean": torch.zeros_like(value), f"{norm}.running_var": torch.full_like(value, 1 - eps)})
    tile.load_state_dict(state)


def training_mode(net: nn.Module) -> None:
    net.train()
    if FROM_SHIPPED:
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()


def network() -> nn.Module:
    net = {"tile": DefectSegmenter, "tile_context": lambda: ContextSegmenter("nearest"),
           "context": ContextSegmenter, "tile_plus_context": TileWithContext}[NET]()
    if FROM_SHIPPED:
        load_shipped(net.tile if isinstance(net, TileWithContext) else net)
    if GROUP_NORM:
        for module in net.modules():
            for name, child in module.named_children():
                if isinstance(child, nn.BatchNorm2d):
                    setattr(module, name, nn.GroupNorm(GROUPS, child.num_features))
    return net


def scan_dirs(split: str) -> list[Path]:
    return sorted(p for p in (DATA / split).iterdir() if (p / "truth.json").exists())


def scan_interiors(scan: Path) -> tuple[dict, list[tuple[dict, np.ndarray]]]:
    """The scan's truth and, per container, its interior box and channels [2, h, w]."""
    truth = read_json(scan / "truth.json")
    low = read_png16(scan / "low.png") if (scan / "low.png").exists() else None
    chans = pp.channels(read_png16(scan / "high.png"), low)
    boxes = [c["interior"] for c in truth["containers"]]
    return truth, [(b, chans[:, b["y0"] : b["y1"], b["x0"] : b["x1"]]) for b in boxes]


def train_interiors(scans: list[Path]) -> tuple[list[np.ndarray], np.ndarray]:
    """The scans' interiors that hold a crop (float16, half the memory of float32), with MARGIN
    px of zeros around them, and how many crop positions each has (CONTEXT_WHOLE=1: padded as
    interior_map pads them, and their pixels, since a step takes a whole interior)."""
    def pad(c: np.ndarray) -> tuple:
        if WHOLE:
            return (0, 0), (0, -c.shape[1] % STRIDE), (0, -c.shape[2] % STRIDE)
        return (0, 0), (MARGIN, MARGIN), (MARGIN, MARGIN)
    interiors = [np.pad(c.astype(np.float16), pad(c)) for scan in scans for _, c in scan_interiors(scan)[1]
                 if min(c.shape[1:]) >= CROP]
    sides = (0, 0) if WHOLE else (CROP - 1, CROP - 1)
    return interiors, np.array([(c.shape[1] - sides[0]) * (c.shape[2] - sides[1]) for c in interiors], dtype=np.float64)


def crop_positions(interiors: list[np.ndarray], area: np.ndarray, n: int, rng) -> list[tuple[int, int, int]]:
    """n random (interior, y, x) crop origins, interiors drawn by their number of crops."""
    out = []
    for i in rng.choice(len(interiors), n, p=area / area.sum()):
        c = interiors[i]
        out.append((i, rng.integers(0, c.shape[1] - CROP + 1), rng.integers(0, c.shape[2] - CROP + 1)))
    return out


def cut(interiors: list[np.ndarray], positions) -> torch.Tensor:
    return torch.from_numpy(np.stack([interiors[i][:, y : y + CROP, x : x + CROP].astype(np.float32) for i, y, x in positions]))


def whole_step(net, opt, sched, interior: np.ndarray, gen) -> float:
    """One step on a whole interior with synthetic defects as many per area as 1.2.4 had, of
    HALF_SIZES. add_defects takes square crops, so the interior is cut along its length into
    squares of its shorter side (the last one overlapping), which get their defects each and are
    laid back in that order."""
    x = ta.augment(torch.from_numpy(interior.astype(np.float32))[None], gen)
    side, along = min(x.shape[2:]), 3 if x.shape[3] >= x.shape[2] else 2
    origins = sorted(set(range(0, x.shape[along] - side + 1, side)) | {x.shape[along] - side})
    squares = torch.cat([x.narrow(along, o, side) for o in origins])
    defective, target, weight = add_defects(squares, gen, half_sizes=HALF_SIZES,
                                            max_defects=2 * (side // pp.TILE_SIZE) ** 2 - 1)
    cells = lambda: torch.zeros(1, 1, x.shape[2] // MAP_CELL, x.shape[3] // MAP_CELL)
    whole_target, whole_weight = cells(), cells()
    for k, o in enumerate(origins):
        x.narrow(along, o, side).copy_(defective[k])
        for whole, part in ((whole_target, target), (whole_weight, weight)):
            whole.narrow(along, o // MAP_CELL, side // MAP_CELL).copy_(part[k])
    return ta.fit_step(net, opt, sched, x, whole_target, whole_weight)


@torch.no_grad()
def hard_negatives(net: nn.Module, interiors: list[np.ndarray], area: np.ndarray, rng) -> list:
    """The honest crops among a random sample that the current model's peak cell is highest on."""
    net.eval()
    sample = crop_positions(interiors, area, MINE_SAMPLE, rng)
    batch = max(1, round(512 / TILES_PER_CROP))
    peak = np.concatenate([net(cut(interiors, sample[i : i + batch])).flatten(1).amax(dim=1).numpy()
                           for i in range(0, len(sample), batch)])
    training_mode(net)
    return [sample[i] for i in np.argsort(peak)[-int(ta.HARD_POOL * len(sample)) :]]


def train(steps: int) -> None:
    torch.set_flush_denormal(True)
    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    rng, gen = np.random.default_rng(SEED), torch.Generator().manual_seed(SEED)
    t0 = time.time()
    interiors, area = train_interiors(scan_dirs("train"))
    print(f"{len(interiors)} honest interiors loaded in {time.time() - t0:.0f} s", flush=True)
    net = network()
    opt = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LEARNING_RATE, total_steps=steps)
    training_mode(net)
    t0, running, hard = time.time(), 0.0, []
    for step in range(steps):
        if MINE and step >= ta.MINE_FROM * STEPS_PER_EPOCH and step % STEPS_PER_EPOCH == 0:
            hard = hard_negatives(net, interiors, area, rng)
        if WHOLE:
            running += whole_step(net, opt, sched, interiors[rng.choice(len(interiors), p=area / area.sum())], gen)
        else:
            positions = crop_positions(interiors, area, BATCH, rng)
            if hard:
                picks = rng.choice(len(hard), int(ta.HARD_SHARE * BATCH))
                positions[: len(picks)] = [hard[i] for i in picks]
            running += ta.defect_step(net, opt, sched, cut(interiors, positions), gen,
                                      half_sizes=HALF_SIZES, max_defects=MAX_DEFECTS)
        if (step + 1) % 200 == 0:
            print(f"step {step + 1}/{steps} loss {running / 200:.5f} ({time.time() - t0:.0f} s)", flush=True)
            running = 0.0
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), OUT / "net.pt")


@torch.no_grad()
def interior_map(net, chans: np.ndarray) -> np.ndarray:
    """Cell probabilities [ceil(h / 4), ceil(w / 4)] of one interior. With CONTEXT_TILED=1 the
    model sees CROP px crops (stride CROP / 2) as in training, each cell a tent-weighted mean
    of the crops that hold it, instead of the whole interior at once."""
    _, h, w = chans.shape
    padded = np.zeros((1, 2, max(-(-h // STRIDE) * STRIDE, CROP), max(-(-w // STRIDE) * STRIDE, CROP)), np.float32)
    padded[0, :, :h, :w] = chans
    if not TILED:
        cells = torch.sigmoid(net(torch.from_numpy(padded)))[0, 0].numpy()
    else:
        side = CROP // MAP_CELL
        tent = np.minimum(np.arange(side) + 1, side - np.arange(side)).astype(np.float32)
        tent = tent[:, None] * tent[None, :]
        total = np.zeros((padded.shape[2] // MAP_CELL, padded.shape[3] // MAP_CELL), np.float32)
        weight = np.zeros_like(total)
        origins = lambda n: sorted(set(list(range(0, n - CROP + 1, CROP // 2)) + [n - CROP]))
        crops = [(y, x) for y in origins(padded.shape[2]) for x in origins(padded.shape[3])]
        for i in range(0, len(crops), 16):
            batch = crops[i : i + 16]
            maps = torch.sigmoid(net(torch.from_numpy(np.stack([padded[0, :, y : y + CROP, x : x + CROP] for y, x in batch]))))
            for (y, x), m in zip(batch, maps[:, 0].numpy()):
                total[y // MAP_CELL : y // MAP_CELL + side, x // MAP_CELL : x // MAP_CELL + side] += m * tent
                weight[y // MAP_CELL : y // MAP_CELL + side, x // MAP_CELL : x // MAP_CELL + side] += tent
        cells = total / np.maximum(weight, 1e-6)
    return cells[: -(-h // MAP_CELL), : -(-w // MAP_CELL)]


def shipped_over_interiors():
    """CONTEXT_RUN=shipped: the committed anomaly.onnx (1.2.4, fully convolutional) over whole
    interiors instead of tiles, as logits, to tell tiles from whole-interior inference."""
    model = onnx.load(str(MODELS / "anomaly.onnx"))
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4:
            dims[2].dim_param, dims[3].dim_param = "height", "width"
    del model.graph.value_info[:]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return lambda x: torch.logit(torch.from_numpy(session.run(["anomaly_map"], {"tiles": x.numpy()})[0]), eps=1e-7)


def cache_maps(split: str) -> None:
    torch.set_num_threads(THREADS)
    net = shipped_over_interiors() if os.environ.get("CONTEXT_RUN") == "shipped" else network()
    if isinstance(net, nn.Module):
        net.load_state_dict(torch.load(OUT / "net.pt"))
        net.eval()
    out = OUT / MAPS / split
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    for scan in scan_dirs(split):
        target = out / f"{scan.name}.npz"
        if target.exists():
            continue
        truth, interiors = scan_interiors(scan)
        high_shape = read_png16(scan / "high.png").shape
        grid = np.zeros((-(-high_shape[0] // rr.CELL), -(-high_shape[1] // rr.CELL)), np.float32)
        for box, chans in interiors:
            cells = interior_map(net, chans)
            y, x = box["y0"] // rr.CELL, box["x0"] // rr.CELL
            window = grid[y : y + cells.shape[0], x : x + cells.shape[1]]
            np.maximum(window, cells[: window.shape[0], : window.shape[1]], out=window)
        objects = [[o["box"][k] // rr.CELL for k in ("x0", "y0")] + [-(-o["box"][k] // rr.CELL) for k in ("x1", "y1")]
                   for o in truth["concealed_objects"]]
        np.savez(target, top=grid.astype(np.float16), mean=grid.astype(np.float16), best_tile=float(grid.max()),
                 scenario=truth["scenario"], kinds=np.array([o["kind"] for o in truth["concealed_objects"]], dtype=str),
                 boxes=np.array(objects, dtype=np.int64).reshape(-1, 4))
    print(f"{split} cached ({time.time() - t0:.0f} s)", flush=True)


def rules(splits: list[str]) -> None:
    rule = rr.RULES[0]
    calib = [s for split in rr.CALIBRATION for s in rr.load(split, OUT / MAPS) if s["scenario"] == "honest"]
    honest = [max((r[0] for r in rr.regions(s, rule)), default=0.0) for s in calib]
    threshold = float(np.quantile(honest, 1 - rr.FALSE_ALARM_RATE))
    print(f"threshold {threshold:.4f} from {len(calib)} honest scans")
    for split in splits:
        scans = rr.load(split, OUT / MAPS)
        cands = [rr.regions(s, rule) for s in scans]
        e = rr.evaluate(scans, cands, threshold)
        alone = rr.evaluate(scans, cands, threshold, wall_check=False)["auroc"]
        kinds = " ".join(f"{k}: {v[0]} of {v[1]}" for k, v in sorted(e["by_kind"].items()))
        print(f"{split}: AUROC alone {alone:.3f} (with walls {e['auroc']:.3f}), localised {e['found']} of "
              f"{e['objects']}, alarmed {e['alarms']} of {e['clean']} [{kinds}]", flush=True)


@torch.no_grad()
def probe(batches: int = 8) -> None:
    """How the trained run's network sees fresh synthetic defects on honest train crops: the
    share of defect cells, the loss, and the mean probability on defect and on other cells,
    with BatchNorm's running statistics (eval) and with each batch's own (train; not for
    CONTEXT_FROM_SHIPPED runs, whose BatchNorms are frozen)."""
    torch.set_num_threads(THREADS)
    net = network()
    net.load_state_dict(torch.load(OUT / "net.pt"))
    interiors, area = train_interiors(scan_dirs("train")[:60])
    rng = np.random.default_rng(SEED)
    data = [add_defects(cut(interiors, crop_positions(interiors, area, BATCH, rng)),
                        torch.Generator().manual_seed(i), half_sizes=HALF_SIZES, max_defects=MAX_DEFECTS)
            for i in range(batches)]
    print(f"{OUT.name}: defect cells {np.mean([float(t.mean()) for _, t, _ in data]):.4f}")
    for mode in ("eval",) if FROM_SHIPPED else ("eval", "train"):
        net.train(mode == "train")
        loss, on, off = [], [], []
        for x, target, weight in data:
            logit = net(x)
            loss.append(float((F.binary_cross_entropy_with_logits(logit, target, reduction="none") * weight).sum()
                              / weight.sum()))
            p = torch.sigmoid(logit)
            on.append(float(p[target > 0].mean()) if (target > 0).any() else np.nan)
            off.append(float(p[target == 0].mean()))
        print(f"  {mode}: loss {np.mean(loss):.4f}, probability on defect cells {np.nanmean(on):.3f}, "
              f"elsewhere {np.mean(off):.4f}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "train":
        train(int(args[0]))
    elif command == "probe":
        probe()
    elif command == "maps":
        for split in args:
            cache_maps(split)
    else:
        rules(args)
