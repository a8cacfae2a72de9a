"""The whole of `make models`: data, both models, ONNX export with parity checks, test-split
metrics and models/manifest.toml. Usage: python -m training.run_all [--workers 2]"""

import argparse
import datetime
import time

import numpy as np
import torch

from training import datagen, train_anomaly, train_classifier
from training.common import MODELS, keep_freed_memory, taxonomy_ids
from training.dataset import load_split
from training.export import OPSET, export_onnx, parity
from training.manifest import write
from training.models import ClassifierExport

MAX_MODEL_BYTES = 20 * 1024 * 1024


def export_checked(module, name: str, outputs: list[str], tiles: np.ndarray) -> dict:
    path = MODELS / f"{name}.onnx"
    export_onnx(module, path, outputs)
    size = path.stat().st_size
    assert size < MAX_MODEL_BYTES, f"{path} is {size} bytes"
    worst = parity(module, path, tiles)
    print(f"{path.name}: {size} bytes, onnxruntime parity {worst:.2e}", flush=True)
    return {"file_bytes": size, "onnxruntime_max_abs_diff": worst}


def parity_tiles(split: dict) -> np.ndarray:
    """A mix of dual- and single-energy validation tiles for the parity check."""
    rng = np.random.default_rng(0)
    return split["tiles"][np.sort(rng.choice(len(split["tiles"]), 256, replace=False))]


def common_record(splits: dict, seconds: float) -> dict:
    return {
        "command": "make models", "date": datetime.date.today().isoformat(),
        "torch_version": torch.__version__.split("+")[0], "onnx_opset": OPSET,
        "preprocessing_spec": "v1 (training/preprocess.py)", "data_generation_seconds": round(seconds),
        **{f"{s}_seeds": v["seeds"] for s, v in splits.items()},
        **{f"{s}_scans": v["scans"] for s, v in splits.items()},
    }


def classifier_record(net, base: dict, metrics: dict, export: dict, test: dict, labels) -> dict:
    test_metrics = train_classifier.evaluate(net, test, labels)
    keep = ("tiles", "tile_accuracy", "tile_accuracy_dual_energy", "tile_accuracy_single_energy")
    return {
        "training": {**base, "train_tiles": metrics["train_tiles"], "epochs": train_classifier.EPOCHS,
                     "tiles_per_category_per_epoch": train_classifier.PER_CLASS,
                     "single_energy_augmentation": train_classifier.SINGLE_ENERGY_SHARE,
                     "min_tile_purity": 0.6, "seed": train_classifier.SEED},
        "metrics": {**{f"val_{k}": metrics[k] for k in keep},
                    "val_per_category_accuracy": metrics["per_category_accuracy"],
                    "val_top_confusions": metrics["top_confusions"],
                    **{f"test_{k}": test_metrics[k] for k in keep}, **export},
    }


def anomaly_record(model, base: dict, metrics: dict, export: dict, test: dict) -> dict:
    peak = train_anomaly.peaks(model, test["tiles"])
    test_metrics = train_anomaly.detection(test, peak, metrics["tile_score_threshold"])
    calibration = ("calibration_honest_scans", "calibration_honest_scans_with_an_alarm")
    drop = ("tile_score_threshold", "train_tiles", "positive_tile_rule", *calibration)
    return {
        "training": {**base, "train_tiles": metrics["train_tiles"], "trained_on": "honest scans only",
                     "epochs": train_anomaly.EPOCHS, "tiles_per_epoch": train_anomaly.TILES_PER_EPOCH,
                     "hard_negatives": f"from epoch {train_anomaly.MINE_FROM + 1}, {train_anomaly.HARD_SHARE:.0%} of each "
                                       f"epoch's tiles from the top {train_anomaly.HARD_POOL:.0%} of "
                                       f"{train_anomaly.MINE_SAMPLE} honest tiles by the current model's peak cell",
                     "map": "probability that material was added in each 4x4 px cell (training/synthetic.py defects)",
                     "score": f"mean of the top {train_anomaly.TOP_K} map cells",
                     "trained_on_splits": train_anomaly.TRAIN_SPLITS,
                     "calibrated_on": f"honest scans of the val, {' and '.join(train_anomaly.CALIBRATION_SPLITS)} splits",
                     "seed": train_anomaly.SEED},
        "metrics": {"positive_tile_rule": metrics["positive_tile_rule"],
                    **{k: metrics[k] for k in calibration},
                    **{f"val_{k}": v for k, v in metrics.items() if k not in drop},
                    **{f"test_{k}": v for k, v in test_metrics.items() if k != "positive_tile_rule"},
                    **export},
    }


def main(workers: int) -> None:
    keep_freed_memory()
    torch.set_num_threads(1)  # small convs: 1 thread is fastest, and robust on a busy machine
    t0 = time.time()
    splits = datagen.generate(workers)
    base = common_record(splits, time.time() - t0)
    labels = taxonomy_ids()
    classifier, c_metrics = train_classifier.train()
    anomaly, a_metrics = train_anomaly.train()
    val, test = load_split("val"), load_split("test")
    tiles = parity_tiles(val)
    c_export = export_checked(ClassifierExport(classifier), "classifier", ["probabilities"], tiles)
    a_export = export_checked(anomaly, "anomaly", ["anomaly_map", "score"], tiles)
    record = {"classifier": classifier_record(classifier, base, c_metrics, c_export, test, labels),
              "anomaly": anomaly_record(anomaly, base, a_metrics, a_export, test)}
    path = write(labels, a_metrics["tile_score_threshold"], train_anomaly.FALSE_ALARM_RATE, record)
    print(f"wrote {path} in {time.time() - t0:.0f} s total", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    main(parser.parse_args().workers)
