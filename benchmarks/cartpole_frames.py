"""What one CartPole-from-pixels observation costs: pygame's render + the follow-crop
against the same picture drawn from the state (envs/cartpole.py, CartPoleRaster).

Both are timed on the same states, interleaved in rounds, so machine load hits them
alike; the figure that travels is the ratio. Also records how far apart the pictures
are (mean absolute difference, 0-255). Writes benchmarks/results/cartpole_frames.json.

    python benchmarks/cartpole_frames.py [--frames 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import gymnasium as gym
import numpy as np

from dreamlab.envs.cartpole import CartPoleFollowCrop, CartPoleRaster

from _common import save_result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    load_before = os.getloadavg()
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    crop, raster = CartPoleFollowCrop(64), CartPoleRaster(64)
    rng = np.random.default_rng(0)
    states = np.stack([rng.uniform(-2.4, 2.4, args.frames), np.zeros(args.frames),
                       rng.uniform(-0.21, 0.21, args.frames), np.zeros(args.frames)], axis=1)
    pygame_ms, raster_ms, diffs = [], [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        refs = []
        for s in states:
            env.unwrapped.state = s
            refs.append(crop(env.render()))
        t1 = time.perf_counter()
        mine = [raster(s.astype(np.float32)) for s in states]
        t2 = time.perf_counter()
        pygame_ms.append((t1 - t0) / args.frames * 1e3)
        raster_ms.append((t2 - t1) / args.frames * 1e3)
        diffs = [float(np.abs(a.astype(int) - b.astype(int)).mean())
                 for a, b in zip(refs, mine, strict=True)]
    env.close()
    p, r = statistics.median(pygame_ms), statistics.median(raster_ms)
    path = save_result("cartpole_frames", {
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "frames": args.frames, "rounds": args.rounds,
        "pygame_render_and_crop_ms": round(p, 3), "raster_ms": round(r, 3),
        "speedup": round(p / r, 2),
        "per_round_ms": {"pygame": [round(x, 3) for x in pygame_ms],
                         "raster": [round(x, 3) for x in raster_ms]},
        "mean_abs_diff_0_255": round(statistics.mean(diffs), 3),
        "max_frame_mean_abs_diff": round(max(diffs), 3),
    })
    print(f"pygame+crop {p:.3f} ms, raster {r:.3f} ms, x{p / r:.1f}; "
          f"mean abs diff {statistics.mean(diffs):.2f}/255 -> {path}")


if __name__ == "__main__":
    main()
