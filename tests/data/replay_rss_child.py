"""Run by test_replay.py in a fresh process: fill a replay far past its capacity and print
its RSS every 1k steps as JSON (a fresh process keeps pytest's memory out of it)."""

from __future__ import annotations

import json
import sys

import numpy as np
import psutil

from dreamlab.data.replay import ReplayBuffer


def main() -> None:
    capacity, steps = int(sys.argv[1]), int(sys.argv[2])
    proc = psutil.Process()
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 255, (16, 2, 64, 64, 3), dtype=np.uint8)
    before = proc.memory_info().rss
    replay = ReplayBuffer(capacity, 2, (64, 64, 3), np.uint8, 6, frame_stack=4)
    after_alloc = proc.memory_info().rss
    rss = []
    action = np.zeros((2, 6), np.float32)
    for t in range(steps // 2):
        first = np.array([t % 97 == 0, t % 131 == 0])
        replay.add(pool[t % 16], action, np.ones(2, np.float32), first, first)
        if t % 50 == 0 and replay.can_sample(16):
            replay.sample(4, 16, rng)
        if (2 * t) % 1000 == 0:
            rss.append(proc.memory_info().rss)
    print(json.dumps({"before": before, "after_alloc": after_alloc, "rss": rss,
                      "nbytes": replay.nbytes_needed()}))


if __name__ == "__main__":
    main()
