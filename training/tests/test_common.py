import subprocess
import sys
import unittest

# Rounds of what a training step does to the heap: 128 MB in blocks under 32 MB allocated,
# written and freed together. Prints the page faults of the rounds after the first.
ROUNDS = """
import resource, sys
import numpy as np
from training.common import keep_freed_memory
if sys.argv[1] == "keep":
    keep_freed_memory()
def round_of_blocks():
    blocks = [np.ones(1 << 20, dtype=np.float32) for _ in range(32)]  # 32 x 4 MB
    del blocks
round_of_blocks()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    round_of_blocks()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, check=True, timeout=60)
    return int(out.stdout)


class FreedMemory(unittest.TestCase):
    @unittest.skipUnless(sys.platform == "linux", "mallopt is glibc's")
    def test_freed_blocks_are_reused_rather_than_mapped_afresh(self):
        default, kept = page_faults("default"), page_faults("keep")
        # glibc's defaults keep a few MB; 5 rounds of 128 MB are 160 000 pages.
        self.assertGreater(default, 40_000, "glibc's defaults no longer return these blocks: the test means nothing")
        self.assertLess(kept, default / 20)


if __name__ == "__main__":
    unittest.main()
