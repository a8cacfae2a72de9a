"""Checks that Pillow reads 16-bit grayscale PNGs exactly, against a minimal independent decoder
(zlib + PNG row filters). Usage: python -m training.check_png SCAN_DIR/high.png"""

import struct
import sys
import zlib

import numpy as np

from training.dataset import read_png16


def paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def unfilter_row(kind: int, row: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    out = row.astype(np.int32)
    up = prev.astype(np.int32)
    if kind == 2:
        return (out + up) & 0xFF
    if kind in (1, 3, 4):
        for i in range(len(out)):  # byte by byte: each byte depends on the reconstructed left one
            left = out[i - bpp] if i >= bpp else 0
            ul = up[i - bpp] if i >= bpp else 0
            pred = left if kind == 1 else (left + up[i]) // 2 if kind == 3 else int(paeth(np.int32(left), up[i], np.int32(ul)))
            out[i] = (out[i] + pred) & 0xFF
    return out


def decode_gray16(path: str) -> np.ndarray:
    data = open(path, "rb").read()
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (16, 0), "not 16-bit grayscale"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + 2 * width)
    rows, prev = [], np.zeros(2 * width, dtype=np.int32)
    for r in range(height):
        prev = unfilter_row(int(raw[r, 0]), raw[r, 1:], prev, 2)
        rows.append(prev)
    b = np.array(rows, dtype=np.uint16)
    return (b[:, 0::2] << 8) | b[:, 1::2]


if __name__ == "__main__":
    png = sys.argv[1]
    ours, pillow = decode_gray16(png), read_png16(png)
    assert ours.shape == pillow.shape and np.array_equal(ours, pillow), "Pillow disagrees"
    print(f"{png}: {pillow.shape} uint16 identical, range {pillow.min()}..{pillow.max()}")
