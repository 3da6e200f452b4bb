"""Updates/s of one world-model + actor-critic step at batch 16 x 64 on this CPU, for each
named size (issue 11, benchmark 5), on DMC-like proprio inputs (5-d state, 1-d continuous
action) and on 64x64 RGB pixels with 6 discrete actions.

Each size runs one warm-up update and then `--updates` timed ones, stopping early once a
size has used `--max-s` seconds; sizes too slow for the budget are reported as such.

    python benchmarks/dreamer_speed.py [--sizes tiny xxs xs s] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dreamer_common import provenance  # noqa: E402

from dreamlab.config.dreamer import MODEL_SIZES, DreamerConfig  # noqa: E402
from dreamlab.dreamer.agent import DreamerAgent  # noqa: E402

from _common import save_result  # noqa: E402


def time_size(size: str, pixels: bool, updates: int, max_s: float) -> dict[str, float]:
    cfg = DreamerConfig(model_size=size, batch_size=16, seq_len=64, imag_horizon=15)
    shape = (64, 64, 3) if pixels else (5,)
    action_dim = 6 if pixels else 1
    agent = DreamerAgent(cfg, shape, pixels, action_dim, discrete=pixels)
    b, t = 16, 64
    obs = (torch.randint(0, 255, (b, t, *shape), dtype=torch.uint8) if pixels
           else torch.randn(b, t, *shape))
    batch = {"obs": obs, "action": torch.zeros(b, t, action_dim), "reward": torch.randn(b, t),
             "is_first": torch.zeros(b, t, dtype=torch.bool),
             "is_terminal": torch.zeros(b, t, dtype=torch.bool)}
    t0 = time.monotonic()
    agent.train_step(batch)  # warm-up
    warm = time.monotonic() - t0
    done, t0 = 0, time.monotonic()
    while done < updates and time.monotonic() - t0 + warm < max_s:
        agent.train_step(batch)
        done += 1
    elapsed = time.monotonic() - t0
    per = elapsed / done if done else warm
    return {"params": sum(agent.param_counts().values()), "timed_updates": done,
            "s_per_update": round(per, 3), "updates_per_s": round(1 / per, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(MODEL_SIZES))
    ap.add_argument("--updates", type=int, default=3)
    ap.add_argument("--max-s", type=float, default=120.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    prov = provenance()
    rows = []
    for size in args.sizes:
        for pixels in (False, True):
            row = {"size": size, "inputs": "pixels64" if pixels else "proprio",
                   **time_size(size, pixels, args.updates, args.max_s)}
            print(row, flush=True)
            rows.append(row)
    path = save_result("dreamer_speed", {**prov, "loadavg_end": provenance()["loadavg"],
                                         "threads": args.threads, "batch": 16, "seq_len": 64,
                                         "imag_horizon": 15, "rows": rows})
    print(path)


if __name__ == "__main__":
    main()
