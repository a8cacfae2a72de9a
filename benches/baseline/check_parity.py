"""Proves that the Python baseline does the same work as scantriage, so that comparing their
throughput compares implementations, not workloads.

For a dual-energy 40 ft, a single-energy 20 ft and a twin 20 ft sample, and the 20 ft one
declared at another pixel pitch (so that it is resampled), it compares the baseline's analysis
with the Rust engine's (`scantriage scan`): the same container boxes, the same number of tiles,
composition shares within 1e-3, confidences and anomaly scores within 1e-4, the same anomaly
regions, cargo mass within 1 %. It also checks that Pillow decodes each image to exactly the
samples the PNG file holds, by filtering its pixels again and comparing with the file's own
filtered rows.

Usage (from anywhere; exit status 1 on any mismatch):

    benches/baseline/.venv/bin/python benches/baseline/check_parity.py [--url http://HOST:PORT]

With --url the baseline's analyses come from the running service (POST /api/v1/scans) instead of
from the pipeline in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import urllib.request
import uuid
import zlib
from pathlib import Path

import numpy as np

import pipeline

REPO = Path(__file__).resolve().parents[2]
BINARY = REPO / "target/release/scantriage"
# Sample, what it is, and the pixel pitch to declare instead of its own 5 mm.
CASES = [
    ("SIM-65-000000", "dual-energy 40 ft", None),
    ("SIM-69-000004", "single-energy 20 ft", None),
    ("SIM-66-000001", "twin 20 ft", None),
    # Not the models' pitch: the image is resampled (step 2 of the spec) before tiling.
    ("SIM-69-000004", "single-energy 20 ft declared at 4.5 mm", 4.5),
]
SHARE_TOLERANCE = 1e-3
SCORE_TOLERANCE = 1e-4
MASS_TOLERANCE = 0.01


def metadata(folder: Path, pitch: float | None) -> bytes:
    meta = json.loads((folder / "meta.json").read_bytes())
    if pitch is not None:
        meta["pixel_pitch_mm"] = pitch
    return json.dumps(meta).encode()


def rust_analysis(folder: Path, meta: bytes) -> tuple[dict, int]:
    """The Rust engine's analysis of a sample, and its number of tiles, which the analysis does
    not carry but the inference pool's debug span does."""
    if not BINARY.exists():
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    with tempfile.NamedTemporaryFile(suffix=".json") as meta_file:
        meta_file.write(meta)
        meta_file.flush()
        command = [str(BINARY), "scan", "--high", str(folder / "high.png"), "--meta", meta_file.name]
        if (folder / "low.png").exists():
            command += ["--low", str(folder / "low.png")]
        # ort's lifetime events happen inside the pool's span, so they print its fields.
        env = {**os.environ, "RUST_LOG": "scantriage::inference::pool=debug,ort::lifetime=trace", "NO_COLOR": "1"}
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    log = re.sub(r"\x1b\[[0-9;]*m", "", done.stderr)
    tiles = re.search(r"inference\{model=classifier tiles=(\d+)\}", log)
    if tiles is None:
        sys.exit(f"{folder.name}: no tile count in scantriage's log")
    return json.loads(done.stdout), int(tiles.group(1))


def baseline_analysis(folder: Path, meta: bytes, models: pipeline.Models | None, url: str | None) -> dict:
    parts = {
        name: (folder / f"{name}.png").read_bytes() for name in ("high", "low") if (folder / f"{name}.png").exists()
    }
    if url is None:
        return pipeline.analyse(models, parts["high"], parts.get("low"), pipeline.Metadata.from_json(meta))
    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + data + b"\r\n"
            for name, data in [("metadata", meta), *parts.items()]
        )
        + f"--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}/api/v1/scans", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["analysis"]


def pillow_exact(path: Path) -> bool:
    """Whether Pillow's pixels, filtered again with each row's PNG filter, give back the file's
    filtered rows byte for byte: then they are exactly the samples the file holds."""
    data = path.read_bytes()
    at, idat = 8, []
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[at + 8 : at + 21])
            if (depth, colour, interlace) != (16, 0, 0):
                sys.exit(f"{path}: not a 16-bit grayscale non-interlaced PNG")
        elif kind == b"IDAT":
            idat.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, 1 + 2 * width)
    pixels, _ = pipeline.decode(data, path.name)
    x = pixels.astype(">u2").view(np.uint8).reshape(height, 2 * width).astype(np.int16)
    # The PNG predictors from the left (a), upper (b) and upper-left (c) bytes, 2 bytes a pixel.
    a = np.pad(x, ((0, 0), (2, 0)))[:, :-2]
    b = np.pad(x, ((1, 0), (0, 0)))[:-1]
    c = np.pad(b, ((0, 0), (2, 0)))[:, :-2]
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    kind = raw[:, :1]
    if kind.max() > 4:
        return False
    predicted = np.select([kind == 1, kind == 2, kind == 3, kind == 4], [a, b, (a + b) // 2, paeth], 0)
    return np.array_equal((x - predicted) & 0xFF, raw[:, 1:])


def boxes(analysis: dict) -> list:
    return [(c["outer"], c["interior"]) for c in analysis["containers"]]


def regions(analysis: dict) -> list:
    return [(r["container"], r["box"]) for r in analysis["anomaly_regions"]]


def largest_share_difference(rust: dict, ours: dict) -> float:
    theirs = {s["category"]: s["share"] for s in rust["composition"]}
    return max((abs(s["share"] - theirs.get(s["category"], 0.0)) for s in ours["composition"]), default=0.0)


def compare(name: str, rust: dict, tiles: int, ours: dict) -> list[str]:
    """The differences that matter, as sentences; none when the two agree."""
    wrong = []
    if ours["tiles"] != tiles:
        wrong.append(f"{ours['tiles']} tiles, Rust {tiles}")
    if boxes(ours) != boxes(rust):
        wrong.append(f"container boxes {boxes(ours)}, Rust {boxes(rust)}")
        return wrong  # nothing else can agree

    def shares(where: str, r: list[dict], o: list[dict]) -> None:
        r, o = {s["category"]: s for s in r}, {s["category"]: s for s in o}
        if r.keys() != o.keys():
            wrong.append(f"{where}: categories {sorted(o)}, Rust {sorted(r)}")
            return
        for k in r:
            if abs(r[k]["share"] - o[k]["share"]) > SHARE_TOLERANCE:
                wrong.append(f"{where}: {k} share {o[k]['share']}, Rust {r[k]['share']}")
            if abs(r[k]["confidence"] - o[k]["confidence"]) > SCORE_TOLERANCE:
                wrong.append(f"{where}: {k} confidence {o[k]['confidence']}, Rust {r[k]['confidence']}")

    def close(where: str, r: float, o: float, tolerance: float, relative: bool = False) -> None:
        if abs(r - o) > tolerance * (abs(r) if relative else 1.0):
            wrong.append(f"{where} {o}, Rust {r}")

    shares("composition", rust["composition"], ours["composition"])
    close("anomaly score", rust["anomaly_score"], ours["anomaly_score"], SCORE_TOLERANCE)
    close("cargo mass", rust["cargo_mass_kg"], ours["cargo_mass_kg"], MASS_TOLERANCE, relative=True)
    for i, (r, o) in enumerate(zip(rust["containers"], ours["containers"], strict=True)):
        shares(f"container {i} composition", r["composition"], o["composition"])
        close(f"container {i} loaded share", r["loaded_share"], o["loaded_share"], SHARE_TOLERANCE)
        close(f"container {i} anomaly score", r["anomaly_score"], o["anomaly_score"], SCORE_TOLERANCE)
        close(f"container {i} mass", r["mass"]["kg"], o["mass"]["kg"], MASS_TOLERANCE, relative=True)
    if regions(ours) != regions(rust):
        wrong.append(f"anomaly regions {regions(ours)}, Rust {regions(rust)}")
    else:
        for r, o in zip(rust["anomaly_regions"], ours["anomaly_regions"], strict=True):
            close(f"region {o['box']} score", r["score"], o["score"], SCORE_TOLERANCE)
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="check the running baseline service at this URL instead of the pipeline")
    args = parser.parse_args()
    models = None if args.url else pipeline.Models(REPO / "models/manifest.toml", 1)
    failed = False
    for name, kind, pitch in CASES:
        folder = REPO / "samples" / name
        meta = metadata(folder, pitch)
        images = [p for p in (folder / "high.png", folder / "low.png") if p.exists()]
        inexact = [p.name for p in images if not pillow_exact(p)]
        rust, tiles = rust_analysis(folder, meta)
        ours = baseline_analysis(folder, meta, models, args.url)
        wrong = compare(name, rust, tiles, ours) + [f"Pillow misreads {p}" for p in inexact]
        share = largest_share_difference(rust, ours)
        print(
            f"{name} ({kind}): {len(ours['containers'])} container(s), {ours['tiles']} tiles (Rust {tiles}), "
            f"{len(ours['anomaly_regions'])} regions; largest share difference {share:.1e}, "
            f"anomaly score {ours['anomaly_score']} (Rust {rust['anomaly_score']}), "
            f"mass {ours['cargo_mass_kg']:.3f} kg (Rust {rust['cargo_mass_kg']:.3f}, "
            f"relative difference {abs(ours['cargo_mass_kg'] / rust['cargo_mass_kg'] - 1):.1e}); "
            f"{len(images)} image(s) decoded exactly: {'no' if inexact else 'yes'}"
        )
        for sentence in wrong:
            print(f"  MISMATCH {sentence}")
        failed |= bool(wrong)
    print("parity: FAILED" if failed else "parity: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
