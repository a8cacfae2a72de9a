"""Paths, the taxonomy and small helpers shared by the training modules."""

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
