"""One scan's analysis in numpy and onnxruntime, no web code: the steps of the Rust engine
(`Engine::analyse` in src/inference/engine.rs) ported one by one, so that the baseline service
does the same work as scantriage. Each function names the Rust code it mirrors; where the Rust
code breaks a tie or rounds in a particular way, so does this, so that the two agree exactly
(check_parity.py proves it on the samples).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

# src/imaging/decode.rs `Limits::default`.
MAX_WIDTH, MAX_HEIGHT, MAX_PIXELS = 16_384, 4_096, 40_000_000
# The Rust pool's `max_batch`.
MAX_BATCH = 32

# src/imaging/preprocess.rs.
C0_MAX = np.float32(1.5)
C1_LIMIT = np.float32(4.0)

# src/imaging/locate.rs; the reasons for each value are there.
ROOF_MIN_ATTENUATION = np.float32(0.5)
MIN_ROOF_MM = 0.75 * 6058.0
HEIGHT_SEARCH_MM = (2300.0, 3050.0)
FLOOR_BAND_MM = (135.0, 150.0)
CROSS_MEMBER_ZONE_MM = (20.0, 110.0)
MIN_BOTTOM_SCORE = np.float32(1.5)
BOTTOM_REFINE_MM = 25.0
OUTLIER_SHARE = 0.1
END_MARGIN_MM = 300.0
END_SEARCH_MM = 60.0
INTERIOR_INSET_MM = (80.0, 60.0, 80.0, 158.0)

# src/imaging/mass.rs.
MASS_ATTENUATION_CM2_PER_G = 0.0375
COLUMN_BASELINE_QUANTILE = 0.10
WALL_QUANTILE = 0.05
MAX_RIB_ATTENUATION = np.float32(0.1)
SATURATED_ATTENUATION = np.float32(9.0)

# -ln(max(v, 1) / 65535) for every 16-bit value, in double precision then rounded to float32,
# exactly as the Rust lookup table (`Attenuation::new`).
ATTENUATION_TABLE = (-np.log(np.maximum(np.arange(65536, dtype=np.float64), 1.0) / 65535.0)).astype(np.float32)


class InputError(Exception):
    """A scan that cannot be analysed because of what was sent: the service answers 4xx."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Box:
    """Pixels [x0, x1) × [y0, y1), rows from the top (src/imaging/geometry.rs `PixelBox`)."""

    x0: int
    y0: int
    x1: int
    y1: int

    def as_json(self) -> dict:
        return {"x0": self.x0, "y0": self.y0, "x1": self.x1, "y1": self.y1}


@dataclass(frozen=True)
class Metadata:
    """The three fields of the scan's metadata the analysis needs."""

    pixel_pitch_mm: float
    containers: int
    dual_energy: bool

    @classmethod
    def from_json(cls, data: bytes | str) -> Metadata:
        try:
            meta = json.loads(data)
        except ValueError as e:
            raise InputError("invalid_metadata", f"metadata is not JSON: {e}") from None
        if not isinstance(meta, dict):
            raise InputError("invalid_metadata", "metadata must be a JSON object")
        pitch = meta.get("pixel_pitch_mm", 5.0)
        containers = meta.get("containers")
        energies = meta.get("energies_mev")
        # The contract's ranges (docs/scan-format.md); bool is an int to Python, not a number here.
        if isinstance(pitch, bool) or not isinstance(pitch, (int, float)) or not 1.0 <= pitch <= 20.0:
            raise InputError("invalid_metadata", "pixel_pitch_mm must be a number from 1 to 20")
        if not isinstance(containers, list) or len(containers) not in (1, 2):
            raise InputError("invalid_metadata", "containers must list one or two containers")
        if not isinstance(energies, dict):
            raise InputError("invalid_metadata", "energies_mev must be an object")
        return cls(float(pitch), len(containers), energies.get("low") is not None)


@dataclass(frozen=True)
class Preprocessing:
    """The manifest's `[preprocessing]` table: PREPROCESSING SPEC v1."""

    pixel_pitch_mm: float
    tile_size: int
    tile_stride: int
    attenuation_scale: np.float32
    dual_energy_ratio: np.float32
    difference_scale: np.float32


class Models:
    """Both models' sessions, created once, with what the merge needs from the manifest."""

    def __init__(self, manifest_path: Path, intra_threads: int):
        manifest = tomllib.loads(manifest_path.read_text())
        p = manifest["preprocessing"]
        self.preprocessing = Preprocessing(
            float(p["pixel_pitch_mm"]),
            int(p["tile_size"]),
            int(p["tile_stride"]),
            np.float32(p["attenuation_scale"]),
            np.float32(p["dual_energy_ratio"]),
            np.float32(p["difference_scale"]),
        )
        classifier, anomaly = manifest["models"]["classifier"], manifest["models"]["anomaly"]
        self.labels: list[str] = classifier["labels"]
        self.empty = self.labels.index("empty") if "empty" in self.labels else None
        self.threshold = np.float32(anomaly["thresholds"]["tile_score"])
        self.versions = [
            {"name": name, "version": spec["version"], "sha256": spec["sha256"]}
            for name, spec in (("classifier", classifier), ("anomaly", anomaly))
        ]
        self.classifier = self._session(manifest_path.parent, classifier, intra_threads)
        self.anomaly = self._session(manifest_path.parent, anomaly, intra_threads)

    @staticmethod
    def _session(folder: Path, spec: dict, threads: int) -> ort.InferenceSession:
        model = (folder / spec["file"]).read_bytes()
        if hashlib.sha256(model).hexdigest() != spec["sha256"]:
            raise RuntimeError(f"{spec['file']} does not match the manifest's sha256")
        # ONNX Runtime's defaults, which the Rust side keeps (src/inference/session.rs), spelt out.
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        # One batch of zeros, as the Rust pool's warm-up: the first request must not pay for
        # ONNX Runtime's lazy allocations.
        tiles = session.get_inputs()[0]
        session.run(None, {tiles.name: np.zeros((MAX_BATCH, *tiles.shape[1:]), np.float32)})
        return session


# --- decoding (src/imaging/decode.rs) ---------------------------------------------------------


def decode(data: bytes, image: str) -> tuple[np.ndarray, list[str]]:
    """A 16-bit grayscale PNG or TIFF as uint16 [rows, columns], with its warnings; 8-bit
    grayscale is scaled by 257 as the Rust decoder does. The size is checked from the header
    before pixels are read."""
    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "TIFF")) as img:
            width, height = img.size
            if width == 0 or height == 0:
                raise InputError("invalid_image", f"{image} image: the image is empty")
            if width > MAX_WIDTH or height > MAX_HEIGHT or width * height > MAX_PIXELS:
                raise InputError("invalid_image", f"{image} image: {width} × {height} pixels is too large")
            if img.mode in ("I;16", "I;16B", "I"):
                return np.asarray(img).astype(np.uint16, copy=False), []
            if img.mode == "L":
                warning = f"the {image} image is 8-bit: dense cargo (below 1/256 transmission) is lost"
                return np.asarray(img).astype(np.uint16) * np.uint16(257), [warning]
            raise InputError("invalid_image", f"{image} image: mode {img.mode} is not grayscale")
    except Image.UnidentifiedImageError:
        raise InputError("invalid_image", f"{image} image: not a PNG or TIFF file") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise InputError("invalid_image", f"{image} image: {e}") from None


def attenuation(pixels: np.ndarray) -> np.ndarray:
    """Spec step 1 through the table: one lookup per pixel."""
    return np.take(ATTENUATION_TABLE, pixels)


# --- resampling (src/imaging/preprocess.rs `resample`, `taps`) --------------------------------


def resample(plane: np.ndarray, scale: float) -> np.ndarray:
    """Spec step 2: rows first, then columns, each output pixel a weighted sum of input pixels."""
    index, weight = _taps(plane.shape[0], scale)
    tall = np.einsum("jk,jkc->jc", weight, plane[index])
    index, weight = _taps(plane.shape[1], scale)
    return np.einsum("jk,cjk->cj", weight, tall[:, index]).astype(np.float32)


def _taps(n: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """For each output pixel along an axis of n pixels, its input pixels and weights
    ([outputs, taps]; unused taps have weight 0)."""
    j = np.arange(max(1, _round(n * scale)), dtype=np.float64)
    if scale < 1.0:
        # Area average of [j / s, (j + 1) / s), partly covered pixels by their covered fraction.
        lo, hi = np.minimum(j / scale, n), np.minimum((j + 1) / scale, n)
        index = np.floor(lo)[:, None].astype(np.int64) + np.arange(math.ceil(1 / scale) + 1)
        overlap = np.minimum(hi[:, None], index + 1) - np.maximum(lo[:, None], index)
        covered = (hi - lo)[:, None]
        weight = np.where((index < n) & (overlap > 0) & (covered > 0), overlap / np.where(covered > 0, covered, 1), 0)
        return np.minimum(index, n - 1), weight.astype(np.float32)
    # Bilinear at u = (j + 0.5) / s - 0.5, clamped to the image.
    u = np.clip((j + 0.5) / scale - 0.5, 0, n - 1)
    i = np.floor(u).astype(np.int64)
    f = u - i
    return np.stack([i, np.minimum(i + 1, n - 1)], axis=1), np.stack([1 - f, f], axis=1).astype(np.float32)


def _round(x: float) -> int:
    """Rust's `f64::round` for the non-negative values here: halves away from zero."""
    return math.floor(x + 0.5)


# --- container localisation (src/imaging/locate.rs) -------------------------------------------


@dataclass(frozen=True)
class Container:
    outer: Box
    interior: Box


def locate_containers(high: np.ndarray, pitch_mm: float, expected: int) -> list[Container]:
    """The `expected` containers in the high-energy attenuation plane, in scan order: the roof
    line gives each one's length, the structure under the floor its bottom, the corner posts its
    ends."""

    def px(mm: float) -> int:
        return _round(mm / pitch_mm)

    min_px = px(MIN_ROOF_MM)
    rows = high.shape[0]
    # The first row with a dark run of a roof's length, among the rows with enough dark pixels
    # for one: counting is cheap, finding runs is not, and the first such row is nearly always
    # the roof.
    dark = high >= ROOF_MIN_ATTENUATION
    top = next(
        (int(y) for y in np.flatnonzero(np.count_nonzero(dark, axis=1) >= min_px) if _longest_run(dark[y]) >= min_px),
        None,
    )
    if top is None:
        raise InputError("no_container", f"no container roof found: no row has a dark line of at least {min_px} px")
    # The roof line may straddle rows: each column's darkest of the first few.
    starts, ends = _runs(high[top : top + 3].max(axis=0) >= ROOF_MIN_ATTENUATION)
    keep = ends - starts >= min_px
    starts, ends = starts[keep], ends[keep]
    if starts.size < expected:
        raise InputError("no_container", f"expected {expected} container(s) but found {starts.size} container roof(s)")
    longest = np.argsort(-(ends - starts), kind="stable")[:expected]
    roofs = sorted(zip(starts[longest].tolist(), ends[longest].tolist(), strict=True))

    containers = []
    margin, search = px(END_MARGIN_MM), px(END_SEARCH_MM)
    for start, end in roofs:
        inner = high[:, start + margin : max(end - margin, 0)]
        # The roof's row: looked for above the first roof line first, where it nearly always is.
        y0 = _first_dark_row(inner, 0, top + 1)
        if y0 is None:
            y0 = _first_dark_row(inner, top + 1, rows)
        y0 = top if y0 is None else y0
        y1 = _bottom(inner, y0, px)
        if y1 is None:
            raise InputError("no_container", f"no container floor found below the roof spanning columns {start}..{end}")

        # The corner posts' outer faces, looked for at mid-height, clear of the castings.
        posts = high[y0 + margin : y1 - margin]
        head = _dark_and_light(posts[:, start : start + search], axis=0)[0] >= ROOF_MIN_ATTENUATION
        tail = _dark_and_light(posts[:, end - search : end], axis=0)[0] >= ROOF_MIN_ATTENUATION
        x0 = start + int(np.argmax(head)) if head.any() else start
        x1 = end - search + int(np.flatnonzero(tail)[-1]) + 1 if tail.any() else end

        in_x0, in_y0, in_x1, in_y1 = (px(mm) for mm in INTERIOR_INSET_MM)
        containers.append(Container(Box(x0, y0, x1, y1), Box(x0 + in_x0, y0 + in_y0, x1 - in_x1, y1 - in_y1)))
    return containers


def _runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The runs of True in a 1-D array: their starts and (exclusive) ends."""
    edges = np.diff(np.pad(flags, 1).view(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _longest_run(flags: np.ndarray) -> int:
    starts, ends = _runs(flags)
    return int((ends - starts).max(initial=0))


def _dark_and_light(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """How dark nearly all the values along `axis` are, and how light: the low and high order
    statistics that leave out OUTLIER_SHARE of them (locate.rs `dark_and_light`)."""
    n = values.shape[axis]
    if n == 0:
        shape = values.shape[:axis] + values.shape[axis + 1 :]
        return np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    outliers = int((n - 1) * OUTLIER_SHARE)
    ranked = np.partition(values, (outliers, n - 1 - outliers), axis=axis)
    return ranked.take(outliers, axis=axis), ranked.take(n - 1 - outliers, axis=axis)


def _first_dark_row(inner: np.ndarray, first: int, stop: int) -> int | None:
    dark = _dark_and_light(inner[first:stop], axis=1)[0]
    hits = np.flatnonzero(dark >= ROOF_MIN_ATTENUATION)
    return first + int(hits[0]) if hits.size else None


def _bottom(inner: np.ndarray, y0: int, px) -> int | None:
    """The row just below the container whose roof is at y0 (locate.rs `bottom`): the lowest
    row where the floor band and the bottom line are both darker than the cross members'
    zone between them, refined to the best score just above."""
    floor = (px(FLOOR_BAND_MM[0]), px(FLOOR_BAND_MM[1]))
    zone = (px(CROSS_MEMBER_ZONE_MM[0]), px(CROSS_MEMBER_ZONE_MM[1]))
    start = y0 + px(HEIGHT_SEARCH_MM[0])
    stop = min(y0 + px(HEIGHT_SEARCH_MM[1]), inner.shape[0])
    if stop <= start:
        return None
    first = start - floor[1]
    dark, light = _dark_and_light(inner[first:stop], axis=1)
    lines = np.arange(start, stop) - first

    def mean(profile: np.ndarray, near: int, far: int) -> np.ndarray:
        # Summed in float32 from the farthest row down, the Rust code's order, so that scores
        # compared with a threshold or each other come out the same.
        total = np.zeros(lines.size, np.float32)
        for k in range(far, near - 1, -1):
            total += profile[lines - k]
        return total / np.float32(far - near + 1)

    # Both dark lines must be there: one very dark band must not pass for the pair.
    scores = np.minimum(mean(dark, *floor), dark[lines]) - mean(light, *zone)
    hits = np.flatnonzero(scores >= MIN_BOTTOM_SCORE)
    if hits.size == 0:
        return None
    lowest = int(hits[-1])
    lo = max(lowest - px(BOTTOM_REFINE_MM), 0)
    candidates = scores[lo : lowest + 1]
    # The last of equal best scores, as Rust's `max_by`.
    best = lo + candidates.size - 1 - int(np.argmax(candidates[::-1]))
    return start + best + 1


# --- tiles (src/imaging/preprocess.rs `Preprocessing::tiles`) ---------------------------------


@dataclass
class Tiles:
    data: np.ndarray  # float32 [n, 2, tile, tile]
    region: np.ndarray  # int [n]: which region each tile covers
    x: np.ndarray  # int [n]: tile origins in the scan's own pixels
    y: np.ndarray
    extent: float  # a tile's side in the scan's pixels


def tiles(prep: Preprocessing, high: np.ndarray, low: np.ndarray | None, pitch_mm: float, regions: list[Box]) -> Tiles:
    """Spec steps 2 to 4 over `regions` (in the scan's own pixels): channels computed once per
    region, then every tile gathered from a sliding-window view in one indexing operation."""
    scale = pitch_mm / prep.pixel_pitch_mm
    if scale != 1.0:
        high = resample(high, scale)
        low = None if low is None else resample(low, scale)
    height, width = high.shape
    size = prep.tile_size
    blocks, region_of, xs_all, ys_all = [], [], [], []
    for region, b in enumerate(regions):
        xs = _starts(prep, b.x0, b.x1, scale, width)
        ys = _starts(prep, b.y0, b.y1, scale, height)
        if xs.size == 0 or ys.size == 0:
            continue
        area = np.s_[ys[0] : ys[-1] + size, xs[0] : xs[-1] + size]
        planes = _channels(prep, high[area], None if low is None else low[area])
        # Only an image smaller than a tile leaves part of a tile outside: zeros there (air).
        short = (ys[-1] - ys[0] + size - planes.shape[1], xs[-1] - xs[0] + size - planes.shape[2])
        planes = np.pad(planes, ((0, 0), (0, short[0]), (0, short[1])))
        windows = sliding_window_view(planes, (size, size), axis=(1, 2)).transpose(1, 2, 0, 3, 4)
        gy, gx = np.meshgrid(ys - ys[0], xs - xs[0], indexing="ij")
        gy, gx = gy.ravel(), gx.ravel()
        blocks.append(windows[gy, gx])
        region_of.append(np.full(gy.size, region))
        ys_all.append(gy + ys[0])
        xs_all.append(gx + xs[0])
    if not blocks:
        empty = np.zeros(0, np.int64)
        return Tiles(np.zeros((0, 2, size, size), np.float32), empty, empty, empty, size / scale)

    def back(v: list[np.ndarray]) -> np.ndarray:
        return np.floor(np.concatenate(v) / scale + 0.5).astype(np.int64)

    return Tiles(
        np.concatenate(blocks),
        np.concatenate(region_of),
        back(xs_all),
        back(ys_all),
        size / scale,
    )


def _channels(prep: Preprocessing, high: np.ndarray, low: np.ndarray | None) -> np.ndarray:
    """Spec step 4 for a block of pixels, float32 [2, rows, columns]; the same float32
    operations in the same order as the Rust code, so the tiles are bit for bit the same."""
    out = np.empty((2, *high.shape), np.float32)
    np.clip(high / prep.attenuation_scale, 0, C0_MAX, out=out[0])
    if low is None:
        out[1] = 0
    else:
        np.clip((low - prep.dual_energy_ratio * high) / prep.difference_scale, -C1_LIMIT, C1_LIMIT, out=out[1])
    return out


def _starts(prep: Preprocessing, lo: int, hi: int, scale: float, length: int) -> np.ndarray:
    """Tile starts along one axis for the span [lo, hi) of the original scan (`starts`)."""
    start = min(math.floor(lo * scale), length)
    end = min(math.ceil(hi * scale), length)
    size = prep.tile_size
    if start >= end:
        return np.zeros(0, np.int64)
    if end - start <= size:
        return np.array([min(start, max(length - size, 0))])
    starts = np.arange(start, end - size + 1, prep.tile_stride)
    if starts[-1] + size < end:
        starts = np.append(starts, end - size)
    return starts


# --- inference ---------------------------------------------------------------------------------


def run_model(session: ort.InferenceSession, data: np.ndarray) -> list[np.ndarray]:
    """Every output of the model for all tiles, run in batches of at most MAX_BATCH like the
    Rust pool (same batches, so the same kernels see the same inputs)."""
    name = session.get_inputs()[0].name
    batches = [session.run(None, {name: data[i : i + MAX_BATCH]}) for i in range(0, len(data), MAX_BATCH)]
    if not batches:
        return [np.zeros((0, *o.shape[1:]), np.float32) for o in session.get_outputs()]
    return [np.concatenate(outputs) for outputs in zip(*batches, strict=True)]


# --- cargo mass (src/imaging/mass.rs) ----------------------------------------------------------


def cargo_mass(high: np.ndarray, interior: Box, pitch_mm: float) -> dict:
    """The cargo's mass from the attenuation integrated over the cargo space, above each
    column's own empty-container baseline (`estimate_cargo_mass`)."""
    cargo = high[interior.y0 : interior.y1, interior.x0 : interior.x1]
    rows, cols = cargo.shape
    if rows == 0 or cols == 0:
        return {"kg": 0.0, "wall_attenuation": 0.0, "saturated_share": 0.0}
    k = int((rows - 1) * COLUMN_BASELINE_QUANTILE)
    baselines = np.partition(cargo, k, axis=0)[k]
    k = int((cols - 1) * WALL_QUANTILE)
    wall = max(np.partition(baselines, k)[k], np.float32(0))
    baselines = np.minimum(baselines, wall + MAX_RIB_ATTENUATION)
    excess = np.maximum(cargo - baselines, 0).sum(dtype=np.float64)
    saturated = np.count_nonzero(cargo >= SATURATED_ATTENUATION)
    pixel_area_cm2 = (pitch_mm / 10.0) ** 2
    return {
        "kg": float(excess / MASS_ATTENUATION_CM2_PER_G * pixel_area_cm2 / 1000.0),
        "wall_attenuation": _f32(wall),
        "saturated_share": saturated / (rows * cols),
    }


# --- merging (src/inference/engine.rs `Engine::merge`) -----------------------------------------


# Columns on each side whose loaded tiles a column's vote takes in (`NEIGHBOUR_COLUMNS`).
NEIGHBOUR_COLUMNS = 2


def _most_probable(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Index of the largest value; of equal ones the last, as Rust's `max_by`."""
    return p.shape[axis] - 1 - np.argmax(np.flip(p, axis=axis), axis=axis)


def _votes(models: Models, probabilities: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One container's tiles counted stack by stack (src/inference/composition.rs
    `Votes::by_stack`): a tile most likely empty counts as empty; the loaded tiles of each
    column sum their probabilities with NEIGHBOUR_COLUMNS columns on each side, "empty" left
    out, and count for the winner with its share of the sum as confidence."""
    n = len(models.labels)
    counts, confidence = np.zeros(n, np.int64), np.zeros(n)
    best = _most_probable(probabilities)
    empty = best == models.empty if models.empty is not None else np.zeros(len(best), bool)
    if empty.any():
        counts[models.empty] += int(empty.sum())
        confidence[models.empty] += float(probabilities[empty, models.empty].sum())
    columns, column_of = np.unique(x, return_inverse=True)
    sums = np.zeros((len(columns), n), np.float32)
    np.add.at(sums, column_of[~empty], probabilities[~empty])
    loaded = np.bincount(column_of[~empty], minlength=len(columns))
    for c in np.flatnonzero(loaded):
        around = sums[max(0, c - NEIGHBOUR_COLUMNS) : c + NEIGHBOUR_COLUMNS + 1].sum(axis=0)
        if models.empty is not None:
            around[models.empty] = 0.0
        total = around.sum()
        if total > 0:
            winner = int(_most_probable(around))
            counts[winner] += loaded[c]
            confidence[winner] += float(around[winner] / total) * loaded[c]
    return counts, confidence


def _composition(models: Models, counts: np.ndarray, confidence: np.ndarray) -> list[dict]:
    """Goods by share of the loaded tiles, largest first; empty tiles are not goods."""
    goods = [i for i in range(len(counts)) if i != models.empty and counts[i] > 0]
    loaded = sum(int(counts[i]) for i in goods)
    shares = [
        {
            "category": models.labels[i],
            "share": _f32(np.float32(counts[i]) / np.float32(loaded)),
            "confidence": _f32(confidence[i] / counts[i]),
        }
        for i in goods
    ]
    return sorted(shares, key=lambda s: -s["share"])


def _loaded_share(models: Models, counts: np.ndarray) -> float:
    total = int(counts.sum())
    loaded = total - (int(counts[models.empty]) if models.empty is not None else 0)
    return _f32(np.float32(loaded) / np.float32(total)) if total else 0.0


def _heatmap(width: int, height: int, t: Tiles, maps: np.ndarray) -> tuple[np.ndarray, int]:
    """The tiles' anomaly maps on one grid of cell × cell pixels over the image; where tiles
    overlap, the larger value (`heatmap`)."""
    map_rows, map_cols = maps.shape[-2:]
    cell = max(_round(t.extent / max(map_cols, 1)), 1)
    grid = np.zeros((-(-height // cell), -(-width // cell)), np.float32)
    gy = (t.y // cell)[:, None, None] + np.arange(map_rows)[None, :, None]
    gx = (t.x // cell)[:, None, None] + np.arange(map_cols)[None, None, :]
    gy, gx = np.broadcast_arrays(gy, gx)
    inside = (gy < grid.shape[0]) & (gx < grid.shape[1])
    np.maximum.at(grid, (gy[inside], gx[inside]), maps[:, 0][inside])
    return grid, cell


def _anomaly_regions(grid: np.ndarray, cell: int, threshold: np.float32, containers: list[Container]) -> list[dict]:
    """Connected groups (4-neighbours) of heatmap cells above the threshold, as boxes in scan
    pixels, highest score first (`anomaly_regions`). Few cells are above the threshold, so a
    flood fill over just those is cheap."""
    above = set(zip(*np.nonzero(grid > threshold), strict=True))
    regions = []
    for seed in sorted(above):  # row-major, the Rust scan order, so equal scores keep its order
        if seed not in above:
            continue
        above.discard(seed)
        stack, group = [seed], []
        while stack:
            y, x = stack.pop()
            group.append((y, x))
            for n in ((y, x - 1), (y, x + 1), (y - 1, x), (y + 1, x)):
                if n in above:
                    above.discard(n)
                    stack.append(n)
        ys, xs = np.array(group).T
        box = Box(int(xs.min()) * cell, int(ys.min()) * cell, (int(xs.max()) + 1) * cell, (int(ys.max()) + 1) * cell)
        container = next((i for i, c in enumerate(containers) if c.outer.x0 <= box.x1 and box.x0 <= c.outer.x1), 0)
        regions.append({"container": container, "box": box.as_json(), "score": _f32(grid[ys, xs].max())})
    return sorted(regions, key=lambda r: -r["score"])


def _f32(value) -> float:
    """A float32 as the shortest decimal that reads back as the same float32, which is how the
    Rust service prints its f32 fields (0.9, not 0.8999999761581421)."""
    return float(str(np.float32(value)))


# --- the whole analysis ------------------------------------------------------------------------


def analyse(models: Models, high_bytes: bytes, low_bytes: bytes | None, meta: Metadata) -> dict:
    """The analysis of one scan, as the Rust `Analysis` JSON (without the heatmap, which Rust
    does not serialise either), plus the number of tiles."""
    started = time.perf_counter()
    timings = dict.fromkeys(("decode", "locate", "preprocess", "classify", "anomaly", "merge"), 0.0)
    clock = started

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] += (now - clock) * 1000.0
        clock = now

    if meta.dual_energy != (low_bytes is not None):
        declared, given = (
            ("dual-energy", "no low image was") if meta.dual_energy else ("single-energy", "a low image was")
        )
        raise InputError("energy_mismatch", f"the metadata declares a {declared} scan but {given} given")
    high, warnings = decode(high_bytes, "high")
    low = None
    if low_bytes is not None:
        low, low_warnings = decode(low_bytes, "low")
        warnings += low_warnings
    if low is not None and low.shape != high.shape:
        raise InputError(
            "invalid_image", f"the high image is {high.shape[::-1]} pixels but the low image is {low.shape[::-1]}"
        )
    lap("decode")
    a_high = attenuation(high)
    a_low = None if low is None else attenuation(low)
    lap("preprocess")
    containers = locate_containers(a_high, meta.pixel_pitch_mm, meta.containers)
    lap("locate")
    t = tiles(models.preprocessing, a_high, a_low, meta.pixel_pitch_mm, [c.interior for c in containers])
    lap("preprocess")
    (probabilities,) = run_model(models.classifier, t.data)
    lap("classify")
    maps, scores = run_model(models.anomaly, t.data)
    lap("anomaly")

    labels = probabilities.shape[1]
    height, width = high.shape
    per_container, all_counts, all_confidence = [], np.zeros(labels, np.int64), np.zeros(labels)
    for index, c in enumerate(containers):
        mine = t.region == index
        counts, conf = _votes(models, probabilities[mine], t.x[mine])
        all_counts += counts
        all_confidence += conf
        per_container.append(
            {
                "outer": c.outer.as_json(),
                "interior": c.interior.as_json(),
                "loaded_share": _loaded_share(models, counts),
                "composition": _composition(models, counts, conf),
                "mass": cargo_mass(a_high, c.interior, meta.pixel_pitch_mm),
                "anomaly_score": _f32(scores[mine].max(initial=0)),
            }
        )
    grid, cell = _heatmap(width, height, t, maps)
    analysis = {
        "schema_version": 1,
        "image": {
            "width": width,
            "height": height,
            "pixel_pitch_mm": meta.pixel_pitch_mm,
            "dual_energy": low is not None,
            "warnings": warnings,
        },
        "containers": per_container,
        "composition": _composition(models, all_counts, all_confidence),
        "anomaly_score": max((c["anomaly_score"] for c in per_container), default=0.0),
        "anomaly_threshold": _f32(models.threshold),
        "anomaly_regions": _anomaly_regions(grid, cell, models.threshold, containers),
        "cargo_mass_kg": sum(c["mass"]["kg"] for c in per_container),
        "models": models.versions,
        "tiles": len(t.data),
    }
    lap("merge")
    timings["total"] = (time.perf_counter() - started) * 1000.0
    analysis["timings_ms"] = timings
    return analysis
