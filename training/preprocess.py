"""Scan -> model tiles. PREPROCESSING SPEC v1.

The Rust pipeline implements exactly the same steps; change both together (and the
`[preprocessing]` table of models/manifest.toml) or neither.

Inputs: the `high` image and, for dual-energy scans, the `low` image, 16-bit grayscale,
pixel value v = round(T * 65535) (transmission T = I / I0).

1. Attenuation, per pixel, float32, for high and low:
       a = -ln(max(v, 1) / 65535)
2. Tiles: 64 x 64 px (TILE_SIZE), stride 48 px (TILE_STRIDE), laid over each container's
   interior box {x0, y0, x1, y1} (x1/y1 exclusive). Tile origins along x are
   x0, x0 + 48, x0 + 96, ... while origin + 64 <= x1, and then one more tile aligned to the
   box end (origin x1 - 64) when the last regular tile does not already end at x1. Same
   along y. A box narrower than 64 px in a direction gets the single origin x0 (the tile
   then reaches past the box; pixels outside the image are never read because interiors
   lie well inside the image). Tiles are ordered row-major: y origin outer, x origin inner.
3. Channels (float32):
       c0 = clamp(a_high / 8.0, 0, 1.5)                                 (ATTENUATION_SCALE)
       c1 = clamp((a_low - 1.57 * a_high) / 0.25, -4, 4) for dual-energy scans
            (DUAL_ENERGY_RATIO, DIFFERENCE_SCALE)
       c1 = 0.0 exactly for single-energy scans.
   Model input: float32 [batch, 2, 64, 64], channel 0 = c0, channel 1 = c1, [row][column].
4. Training labels only (not part of inference): a tile's label is the most frequent value
   of labels.png over the tile; its purity is that value's share of the 4096 pixels. Tiles
   with purity < 0.6 are "mixed" and are left out of classifier training.
"""

import numpy as np

TILE_SIZE = 64
TILE_STRIDE = 48
ATTENUATION_SCALE = 8.0
DUAL_ENERGY_RATIO = 1.57
DIFFERENCE_SCALE = 0.25
C0_MAX = 1.5
C1_LIMIT = 4.0
MIN_PURITY = 0.6
SPEC_VERSION = 1


def attenuation(image: np.ndarray) -> np.ndarray:
    """a = -ln(max(v, 1) / 65535) as float32."""
    v = np.maximum(image.astype(np.float32), 1.0)
    return (-np.log(v / np.float32(65535.0))).astype(np.float32)


def channels(high: np.ndarray, low: np.ndarray | None) -> np.ndarray:
    """Whole-image channels [2, H, W]: c0 from high, c1 from the dual-energy difference."""
    a_high = attenuation(high)
    c0 = np.clip(a_high / np.float32(ATTENUATION_SCALE), 0.0, C0_MAX)
    if low is None:
        c1 = np.zeros_like(c0)
    else:
        a_low = attenuation(low)
        diff = (a_low - np.float32(DUAL_ENERGY_RATIO) * a_high) / np.float32(DIFFERENCE_SCALE)
        c1 = np.clip(diff, -C1_LIMIT, C1_LIMIT)
    return np.stack([c0, c1]).astype(np.float32)


def tile_origins(start: int, end: int) -> list[int]:
    """Origins along one axis of the box [start, end): stride 48, last tile aligned to end."""
    if end - start <= TILE_SIZE:
        return [start]
    origins = list(range(start, end - TILE_SIZE + 1, TILE_STRIDE))
    if origins[-1] + TILE_SIZE < end:
        origins.append(end - TILE_SIZE)
    return origins


def box_origins(box: dict) -> list[tuple[int, int]]:
    """(y, x) tile origins over a box {x0, y0, x1, y1}, row-major."""
    ys = tile_origins(box["y0"], box["y1"])
    xs = tile_origins(box["x0"], box["x1"])
    return [(y, x) for y in ys for x in xs]


def cut_tiles(image_channels: np.ndarray, origins: list[tuple[int, int]]) -> np.ndarray:
    """Tiles [n, 2, 64, 64] of a [2, H, W] channel image at the given (y, x) origins."""
    out = np.empty((len(origins), 2, TILE_SIZE, TILE_SIZE), dtype=np.float32)
    for i, (y, x) in enumerate(origins):
        out[i] = image_channels[:, y : y + TILE_SIZE, x : x + TILE_SIZE]
    return out


def tile_labels(labels: np.ndarray, origins: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Majority label and its purity (share of pixels) for each tile of an 8-bit label map."""
    majority = np.empty(len(origins), dtype=np.int64)
    purity = np.empty(len(origins), dtype=np.float32)
    for i, (y, x) in enumerate(origins):
        counts = np.bincount(labels[y : y + TILE_SIZE, x : x + TILE_SIZE].ravel(), minlength=256)
        majority[i] = int(np.argmax(counts))
        purity[i] = counts[majority[i]] / float(TILE_SIZE * TILE_SIZE)
    return majority, purity
