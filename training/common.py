"""Paths, the taxonomy and small helpers shared by the training modules."""

import ctypes
import json
import os
import tomllib
from pathlib import Path

TRAINING = Path(__file__).resolve().parent
ROOT = TRAINING.parent
DATA = Path(os.environ.get("SCANTRIAGE_DATA", TRAINING / "data"))
MODELS = ROOT / "models"
BINARY = Path(os.environ.get("SCANTRIAGE_BIN", ROOT / "target" / "release" / "scantriage"))
TAXONOMY_FILE = MODELS / "goods_categories.toml"


def taxonomy_ids() -> list[str]:
    """Category ids in file order: the classifier's output order."""
    with open(TAXONOMY_FILE, "rb") as f:
        return [c["id"] for c in tomllib.load(f)["category"]]


def read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def keep_freed_memory() -> None:
    """Lets glibc keep freed blocks of up to 32 MB (its largest setting) for reuse instead of
    returning them to the kernel. A training step allocates and frees some 130 MB of
    activations; mapping them afresh each time, page faults took a third of the CPU time of
    `make models`. Blocks over 32 MB, like the tile arrays, are still returned. A no-op
    without glibc."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD; setting it stops glibc from moving it itself
        mallopt(-1, 2**31 - 1)  # M_TRIM_THRESHOLD: keep up to 2 GB free at the heap's top
