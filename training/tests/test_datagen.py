"""The splits' simulate jobs: no seed in two splits, each within its documented range."""

import unittest

from training import datagen


class Jobs(unittest.TestCase):
    def test_splits_never_share_a_seed(self):
        seeds = {split: [job["seed"] for job in datagen.split_jobs(split)] for split in datagen.SEED_BASE}
        for split, own in seeds.items():
            base = datagen.SEED_BASE[split]
            self.assertTrue(all(base <= s < base + 1000 for s in own), split)
            self.assertEqual(len(own), len(set(own)), split)
        every = [s for own in seeds.values() for s in own]
        self.assertEqual(len(every), len(set(every)))

    def test_only_validation_and_test_splits_hold_concealment(self):
        for split in datagen.SEED_BASE:
            concealment = [j for j in datagen.split_jobs(split) if "concealment" in j["options"]]
            self.assertEqual(bool(concealment), split in ("val", "test"), split)
            self.assertTrue(all(j["count"] > 0 for j in datagen.split_jobs(split)), split)

    def test_more_splits_repeat_their_splits_jobs_from_their_own_seeds(self):
        for split, (like, times) in datagen.JOBS_OF.items():
            own, theirs = datagen.split_jobs(split), datagen.split_jobs(like)
            self.assertEqual([j["options"] for j in own], [j["options"] for j in theirs], split)
            self.assertEqual([j["count"] for j in own], [times * j["count"] for j in theirs], split)
            self.assertTrue(set(j["seed"] for j in own).isdisjoint(j["seed"] for j in theirs), split)


if __name__ == "__main__":
    unittest.main()
