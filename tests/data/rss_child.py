"""Run by test_rss_bound.py in a fresh process: stream a store, print peak memory as JSON.

A fresh process keeps the pytest process's own memory out of the measurement.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import psutil

from dreamlab.data import FrameDataset, make_loader


def vm_hwm_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    root, budget, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    me = psutil.Process()
    peak = {"pss": 0}
    stop = threading.Event()

    def sample() -> None:  # PSS over main + workers counts shared pages once
        while not stop.is_set():
            try:
                pss = me.memory_full_info().pss
                pss += sum(c.memory_full_info().pss for c in me.children(recursive=True))
                peak["pss"] = max(peak["pss"], pss)
            except psutil.Error:
                pass
            stop.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    frames = 0
    dataset = FrameDataset(root, budget, seed=0)
    for batch in make_loader(dataset, batch_size=64, num_workers=workers, seed=0):
        frames += len(batch)
    stop.set()
    thread.join()
    print(json.dumps({"frames": frames, "peak_rss": vm_hwm_bytes(), "peak_pss": peak["pss"]}))


if __name__ == "__main__":
    main()
