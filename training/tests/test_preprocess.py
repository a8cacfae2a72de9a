"""The training code cuts the tiles the service cuts (PREPROCESSING SPEC v1)."""

import json
import unittest

import numpy as np

from training import preprocess as pp
from training.common import ROOT
from training.dataset import read_png16

FIXTURE = ROOT / "tests" / "fixtures" / "preprocessing"
# The service takes ln in f64 and rounds to f32, numpy in f32: a unit in the last place of an
# attenuation near 11, times 4 in the dual-energy channel.
TOLERANCE = 3e-5


class Tiles(unittest.TestCase):
    def test_tiles_match_the_services(self):
        """tests/imaging.rs checks the Rust pipeline's tiles against the same fixture."""
        meta = json.loads((FIXTURE / "tiles.json").read_text())
        sample = ROOT / meta["sample"]
        origins = pp.box_origins(meta["interior"])
        self.assertEqual(len(origins), meta["tiles_in_interior"])
        picked = [origins[i] for i in meta["picked"]]
        self.assertEqual(picked, [tuple(o) for o in meta["origins_yx"]])
        channels = pp.channels(read_png16(sample / "high.png"), read_png16(sample / "low.png"))
        expected = np.fromfile(FIXTURE / "tiles.f32", dtype="<f4").reshape(len(picked), 2, pp.TILE_SIZE, pp.TILE_SIZE)
        np.testing.assert_allclose(pp.cut_tiles(channels, picked), expected, rtol=0, atol=TOLERANCE)

    def test_tile_grid_covers_boxes_as_the_services_does(self):
        """The cases of tests/imaging.rs `tiles_cover_regions_of_any_size` that lie in the image."""
        box = lambda x0, y0, x1, y1: {"x0": x0, "y0": y0, "x1": x1, "y1": y1}
        for b, count in [(box(10, 10, 74, 74), 1), (box(10, 10, 75, 74), 2), (box(0, 0, 112, 64), 2),
                         (box(0, 0, 113, 64), 3), (box(100, 50, 500, 300), 8 * 5)]:
            origins = pp.box_origins(b)
            self.assertEqual(len(origins), count, b)
            self.assertEqual(origins, sorted(origins), "row-major")
            for px, py in [(b["x0"], b["y0"]), (b["x1"] - 1, b["y1"] - 1)]:
                self.assertTrue(any(x <= px < x + pp.TILE_SIZE and y <= py < y + pp.TILE_SIZE for y, x in origins))
            self.assertTrue(all(x + pp.TILE_SIZE <= max(b["x1"], b["x0"] + pp.TILE_SIZE) for _, x in origins))

    def test_channels_follow_the_spec(self):
        steel_high = round(65535 * np.exp(-2.85))
        high = np.full((4, 4), steel_high, dtype=np.uint16)
        low = np.full((4, 4), round(65535 * np.exp(-2.85 * 1.52)), dtype=np.uint16)
        c = pp.channels(high, low)
        self.assertEqual(c.dtype, np.float32)
        self.assertAlmostEqual(float(c[0, 0, 0]), 2.85 / 8.0, delta=0.001)
        self.assertAlmostEqual(float(c[1, 0, 0]), 2.85 * (1.52 - 1.57) / 0.25, delta=0.01)
        opaque = pp.channels(np.zeros((1, 1), np.uint16), None)
        self.assertAlmostEqual(float(opaque[0, 0, 0]), np.log(65535.0) / 8.0, places=6)
        self.assertTrue((pp.channels(high, None)[1] == 0.0).all(), "single energy: c1 is 0")
        self.assertEqual(float(pp.channels(high * 0 + 65535, low * 0)[1, 0, 0]), pp.C1_LIMIT)


if __name__ == "__main__":
    unittest.main()
