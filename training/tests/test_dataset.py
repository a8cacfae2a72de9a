"""Tile caches of a split: what they hold, when they are rebuilt, and what a killed build leaves."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

import numpy as np

from training import dataset
from training.common import ROOT

HONEST, CONCEALMENT = "SIM-65-000000", "SIM-6d-000008"


class Caches(unittest.TestCase):
    def setUp(self):
        self.data = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.data)
        for name in [HONEST, CONCEALMENT]:
            shutil.copytree(ROOT / "samples" / name, self.data / "mini" / name)
        patch = mock.patch.object(dataset, "DATA", self.data)
        patch.start()
        self.addCleanup(patch.stop)
        self.cache = self.data / "mini_tiles.npz"

    def test_a_split_holds_every_tile_with_its_annotations(self):
        split = dataset.load_split("mini")
        truths = [json.loads((self.data / "mini" / n / "truth.json").read_text()) for n in [HONEST, CONCEALMENT]]
        self.assertEqual(list(split["scan_names"]), [HONEST, CONCEALMENT])
        self.assertEqual(split["tiles"].shape[1:], (2, 64, 64))
        self.assertTrue(all(len(split[k]) == len(split["tiles"]) for k in dataset.FIELDS))
        self.assertTrue(split["honest"][split["scan"] == 0].all())
        self.assertFalse(split["honest"][split["scan"] == 1].any())
        objects = truths[1]["concealed_objects"]
        self.assertEqual(list(split["object_kinds"]), [o["kind"] for o in objects])
        touched = np.unique(split["object"][split["object"] >= 0])
        self.assertTrue(len(touched) > 0 and touched.max() < len(objects))
        self.assertTrue((split["concealed"][split["object"] >= 0] > 0).all())

    def test_the_cache_is_rebuilt_only_when_the_split_is_newer(self):
        dataset.load_split("mini")
        built = self.cache.stat().st_mtime_ns
        dataset.load_split("mini")
        self.assertEqual(self.cache.stat().st_mtime_ns, built, "read from the cache")
        # Without jobs.json the directory's time counts; with one, the job list's.
        later = time.time() + 5
        os.utime(self.data / "mini", (later, later))
        dataset.load_split("mini")
        rebuilt = self.cache.stat().st_mtime_ns
        self.assertGreater(rebuilt, built)
        jobs = self.data / "mini" / "jobs.json"
        jobs.write_text("[]")
        os.utime(jobs, (later + 5, later + 5))
        dataset.load_split("mini")
        self.assertGreater(self.cache.stat().st_mtime_ns, rebuilt)

    def test_the_cache_is_built_in_a_child_process(self):
        # A build in the caller's process would keep its freed arrays in the caller's heap.
        with mock.patch.object(dataset, "build_split", side_effect=AssertionError("built in the caller")):
            dataset.load_split("mini")
        self.assertTrue(self.cache.exists())

    def test_side_files_of_killed_builds_are_removed(self):
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        abandoned = self.data / f"mini_tiles.{dead.stdout.strip()}.npz"
        live = self.data / f"mini_tiles.{os.getppid()}.npz"  # a process that is alive
        abandoned.write_bytes(b"half a cache")
        live.write_bytes(b"being written")
        dataset.load_split("mini")
        self.assertFalse(abandoned.exists())
        self.assertTrue(live.exists(), "a build still running keeps its side file")
        self.assertTrue(self.cache.exists())


class Stacked(unittest.TestCase):
    def test_rows_in_any_order_read_as_from_the_concatenation(self):
        parts = [np.arange(n * 4, dtype=np.float32).reshape(n, 2, 2) + 100 * i for i, n in enumerate([3, 1, 5])]
        whole = np.concatenate(parts)
        stacked = dataset.StackedTiles(parts)
        self.assertEqual(len(stacked), len(whole))
        rows = np.array([8, 0, 3, 2, 4, 4, 7])
        np.testing.assert_array_equal(stacked[rows], whole[rows])
        np.testing.assert_array_equal(stacked[np.arange(len(whole))], whole)

    def test_splits_stack_with_their_honest_flags(self):
        with tempfile.TemporaryDirectory() as tmp, mock.patch.object(dataset, "DATA", Path(tmp)):
            for split, name in [("a", HONEST), ("b", CONCEALMENT)]:
                shutil.copytree(ROOT / "samples" / name, Path(tmp) / split / name)
            a, b = dataset.load_split("a"), dataset.load_split("b")
            both = dataset.load_stacked(["a", "b"])
            half = dataset.load_stacked(["a", "b"], np.float16)
        rows = np.arange(len(both["honest"]))
        whole = np.concatenate([a["tiles"], b["tiles"]])
        np.testing.assert_array_equal(both["honest"], np.concatenate([a["honest"], b["honest"]]))
        np.testing.assert_array_equal(both["tiles"][rows], whole)
        self.assertEqual(half["tiles"][rows].dtype, np.float16)
        np.testing.assert_array_equal(half["tiles"][rows], whole.astype(np.float16))
        np.testing.assert_array_equal(half["honest"], both["honest"])
        self.assertTrue(both["honest"][: len(a["honest"])].all() and not both["honest"][len(a["honest"]) :].any())


if __name__ == "__main__":
    unittest.main()
