"""How does a CartPole-from-pixels World Models agent fail? Ends of its episodes.

Usage: python benchmarks/cartpole_drift.py RUN_DIR [--episodes 12] [--name NAME]
Plays RUN_DIR's controller_best.pt (with its vae.pt and mdnrnn.pt) for --episodes real
episodes and records, per episode, its length and the state it ended in: |x| > 2.4 means
the cart left the track with the pole up, |theta| > 0.2095 rad means the pole fell. Issue
10's make run seed 42 scored ~200 because its controllers drifted; this recorded that.
Writes benchmarks/results/<NAME>.json (default cartpole_drift).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from _common import save_result

X_LIMIT, THETA_LIMIT = 2.4, 12 * 2 * np.pi / 360  # CartPole-v1's termination bounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--episodes", type=int, default=12)
    parser.add_argument("--name", default="cartpole_drift")
    args = parser.parse_args()
    from dreamlab.envs.factory import env_info, make_env
    from dreamlab.worldmodels.agent import WorldModelPolicy, load_controller, load_world_model

    torch.set_num_threads(1)
    run = Path(args.run_dir)
    params, spec, _ = load_controller(run / "controller_best.pt")
    vae, mdnrnn = load_world_model(run / "vae.pt", run / "mdnrnn.pt")
    policy = WorldModelPolicy(spec, mdnrnn, vae, env_info("CartPole-v1", obs="pixels"))
    episodes = []
    for ep in range(args.episodes):
        env = make_env("CartPole-v1", obs="pixels", img_size=vae.img_size)
        obs, _ = env.reset(seed=1000 + ep)
        policy.reset(1)
        steps, done = 0, False
        while not done:
            action = policy.act(obs[None], params.reshape(1, -1), [0])
            obs, _, terminated, truncated, _ = env.step(int(action[0]))
            steps, done = steps + 1, terminated or truncated
        x, _, theta, _ = (float(v) for v in env.unwrapped.state)
        cause = ("left the track" if abs(x) > X_LIMIT else "pole fell"
                 if abs(theta) > THETA_LIMIT else "time limit")
        episodes.append({"seed": 1000 + ep, "steps": steps, "x": round(x, 3),
                         "theta": round(theta, 4), "end": cause})
        env.close()
    ends = {c: sum(e["end"] == c for e in episodes)
            for c in ("left the track", "pole fell", "time limit")}
    result = {"run_dir": run.name, "episodes": episodes, "ends": ends,
              "mean_steps": round(float(np.mean([e["steps"] for e in episodes])), 1)}
    print(ends, result["mean_steps"], file=sys.stderr)
    print(f"wrote {save_result(args.name, result)}")


if __name__ == "__main__":
    main()
