"""How far loads are from the wall check's thresholds (src/imaging/partition.rs, same constants).

For every container of the given splits, on the high-energy attenuation over the simulator's
interior box: per column, the share of rows darker than WALL_MIN_ATTENUATION, and the share
where that dark run is at most MAX_WALL_PX wide. Prints, for scans with and without a false
wall, the largest full-height share among narrow columns and the largest narrow share among
full-height columns, and how many scans the check's thresholds mark.

Usage: PYTHONPATH=. python training/experiments/wall_margins.py train val mix_val val_big
"""

import sys

import numpy as np

from training import preprocess as pp
from training.common import DATA, read_json
from training.dataset import read_png16

WALL_MIN_ATTENUATION = 1.5
FULL_HEIGHT_SHARE = 0.98
MAX_WALL_PX = 24  # 120 mm at 5 mm
NARROW_ROW_SHARE = 0.5
END_MARGIN_PX = 30  # 150 mm


def column_shares(a: np.ndarray, box: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per column of the box (ends left out): share of dark rows, share of narrow dark rows."""
    dark = a[box["y0"] : box["y1"], box["x0"] : box["x1"]] >= WALL_MIN_ATTENUATION
    run = np.zeros(dark.shape, dtype=np.int32)
    for y, row in enumerate(dark):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
        for start, end in zip(edges[::2], edges[1::2]):
            run[y, start:end] = end - start
    full = dark.mean(axis=0)
    narrow = ((run > 0) & (run <= MAX_WALL_PX)).mean(axis=0)
    inner = slice(END_MARGIN_PX, -END_MARGIN_PX)
    return full[inner], narrow[inner]


def main(splits: list[str]) -> None:
    groups: dict[str, list[tuple[float, float, bool]]] = {"false wall": [], "no false wall": []}
    for split in splits:
        for truth_path in sorted((DATA / split).glob("*/truth.json")):
            truth = read_json(truth_path)
            a = pp.attenuation(read_png16(truth_path.parent / "high.png"))
            best_full = best_narrow = 0.0
            marked = False
            for container in truth["containers"]:
                full, narrow = column_shares(a, container["interior"])
                best_full = max(best_full, full[narrow >= 0.2].max(initial=0.0))
                best_narrow = max(best_narrow, narrow[full >= 0.97].max(initial=0.0))
                marked |= bool(((full >= FULL_HEIGHT_SHARE) & (narrow >= NARROW_ROW_SHARE)).any())
            wall = any(o["kind"] == "false_wall" for o in truth["concealed_objects"])
            groups["false wall" if wall else "no false wall"].append((best_full, best_narrow, marked))
    for name, rows in groups.items():
        if not rows:
            continue
        v = np.array(rows)
        print(f"{name}: {len(v)} scans, marked {int(v[:, 2].sum())}; full-height share among columns narrow in "
              f">= 20 % of rows: max {v[:, 0].max():.3f}, min {v[:, 0].min():.3f}; narrow share among columns "
              f"dark in >= 97 % of rows: max {v[:, 1].max():.3f}, min {v[:, 1].min():.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
