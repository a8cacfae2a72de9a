"""Writes models/manifest.toml: preprocessing constants, each model's file, sha256, I/O
signature, labels, thresholds, training record and metrics. The fixed part follows the format
the Rust side parses; `training` and `metrics` tables are free-form."""

import hashlib
import json
from pathlib import Path

from training import preprocess as pp
from training.common import MODELS

# Bump a model's version when its training data or recipe changes, so that analyses name the
# models they came from.
MODEL_VERSIONS = {"classifier": "1.1.0", "anomaly": "1.4.0"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def value(v) -> str:
    """A TOML value: strings, numbers, booleans, arrays and (inline) tables."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }"
    return "[" + ", ".join(value(x) for x in v) + "]"


def key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def table(name: str, entries: dict) -> list[str]:
    return [f"[{name}]", *(f"{key(k)} = {value(v)}" for k, v in entries.items()), ""]


def tensor(name: str, shape: list) -> dict:
    return {"name": name, "dtype": "float32", "shape": shape}


def model_table(name: str, file: str, inputs: list, outputs: list) -> list[str]:
    path = MODELS / file
    return [f"[models.{name}]", f"file = {value(file)}", f"sha256 = {value(sha256(path))}",
            f"version = {value(MODEL_VERSIONS[name])}", f"inputs = {value(inputs)}", f"outputs = {value(outputs)}"]


def write(labels: list[str], threshold: float, false_alarm_rate: float, record: dict) -> Path:
    """record: {classifier: {training, metrics}, anomaly: {training, metrics}}."""
    tiles_in = [tensor("tiles", ["batch", 2, pp.TILE_SIZE, pp.TILE_SIZE])]
    lines = ["# Written by `make models` (training/manifest.py); do not edit by hand.",
             "manifest_version = 1", 'taxonomy = "goods_categories.toml"', ""]
    lines += table("preprocessing", {
        "pixel_pitch_mm": 5.0, "tile_size": pp.TILE_SIZE, "tile_stride": pp.TILE_STRIDE,
        "attenuation_scale": pp.ATTENUATION_SCALE, "dual_energy_ratio": pp.DUAL_ENERGY_RATIO,
        "difference_scale": pp.DIFFERENCE_SCALE})
    lines += model_table("classifier", "classifier.onnx", tiles_in,
                         [tensor("probabilities", ["batch", len(labels)])])
    lines += [f"labels = {value(labels)}", ""]
    lines += table("models.classifier.training", record["classifier"]["training"])
    lines += table("models.classifier.metrics", record["classifier"]["metrics"])
    lines += model_table("anomaly", "anomaly.onnx", tiles_in,
                         [tensor("anomaly_map", ["batch", 1, 16, 16]), tensor("score", ["batch"])])
    lines += [""]
    lines += table("models.anomaly.thresholds", {"tile_score": threshold, "false_alarm_rate": false_alarm_rate})
    lines += table("models.anomaly.training", record["anomaly"]["training"])
    lines += table("models.anomaly.metrics", record["anomaly"]["metrics"])
    path = MODELS / "manifest.toml"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
