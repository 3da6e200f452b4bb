"""Where does a Dreamer agent lose reward on DMC cartpole_balance? Its reward's factors.

Usage: python benchmarks/dreamer_balance_probe.py RUN_DIR [RUN_DIR ...] [--episodes 5]
Plays each run's newest checkpoint (the actor's mode, as evaluation does) and splits the
return into dm_control's four factors, computed from the observations the agent saw
(cart position, pole angle's cosine, pole angular velocity) and its actions:

    reward = upright * centered * small_control * small_velocity

upright = (cos + 1) / 2; centered = (1 + tolerance(x, margin=2)) / 2; small_control =
(4 + tolerance(a, margin=1, value_at_margin=0, quadratic)) / 5; small_velocity =
(1 + tolerance(angular velocity, margin=5)) / 2 (dm_control's cartpole.py, with its own
`rewards.tolerance`). The observations are the agent's, one per decision (every 4th
physics step under action repeat 4), so the factors are sampled there: a reading of
where the return goes, not an exact split. Issue 11's bar is >= 800 at 100k env steps;
of the 11-30 JSON's three seeds one scored 714: this says which factor costs it.
Writes benchmarks/results/<NAME>.json (default dreamer_balance_probe).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from _common import save_result


def factors(obs: np.ndarray, actions: np.ndarray) -> dict[str, np.ndarray]:
    """dm_control cartpole's reward factors per decision; obs columns: x, cos, sin, x_dot,
    theta_dot (the proprio observation's order)."""
    from dm_control.utils.rewards import tolerance

    x, cos, ang_vel = obs[:, 0], obs[:, 1], obs[:, 4]
    control = np.abs(actions).max(axis=1)
    return {
        "upright": (cos + 1.0) / 2.0,
        "centered": (1.0 + tolerance(x, margin=2)) / 2.0,
        "small_control": (4.0 + tolerance(control, margin=1, value_at_margin=0,
                                          sigmoid="quadratic")) / 5.0,
        "small_velocity": (1.0 + tolerance(ang_vel, margin=5)) / 2.0,
    }


def probe(run_dir: Path, episodes: int) -> dict:
    from dreamlab.config.dreamer import DreamerConfig
    from dreamlab.dreamer.evaluate import build_agent, run_episodes
    from dreamlab.runtime.checkpoint import StepCheckpointer
    from dreamlab.runtime.rundir import RunLayout, load_run_config

    cfg = load_run_config(run_dir, DreamerConfig)
    agent, info, spec = build_agent(cfg, torch.device("cpu"))
    data = StepCheckpointer(RunLayout(run_dir).checkpoints).load_latest()
    if data is None:
        raise SystemExit(f"{run_dir} holds no Dreamer checkpoint")
    agent.load_state_dict(data["agent"])
    agent.eval()
    rows = []
    for ep in range(episodes):
        returns, _, record = run_episodes(agent, cfg, info, spec, 1, 5000 + ep, False)
        obs, actions = np.stack(record.obs), np.stack(record.actions)
        f = factors(obs, actions)
        rows.append({"return": round(returns[0], 1),
                     **{k: round(float(v.mean()), 4) for k, v in f.items()},
                     "product_mean": round(float(np.prod(np.stack(list(f.values())), 0)
                                                 .mean()), 4),
                     "mean_abs_x": round(float(np.abs(obs[:, 0]).mean()), 3),
                     "max_abs_x": round(float(np.abs(obs[:, 0]).max()), 3),
                     "mean_abs_action": round(float(np.abs(actions).mean()), 3)})
    mean = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
    return {"run_dir": run_dir.name, "seed": cfg.seed, "train_env_steps": int(data["step"]),
            "episodes": rows, "mean": mean}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--name", default="dreamer_balance_probe")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = [probe(Path(r), args.episodes) for r in args.run_dirs]
    for r in runs:
        print(r["run_dir"], r["mean"], file=sys.stderr)
    print(f"wrote {save_result(args.name, {'episodes_per_run': args.episodes, 'runs': runs})}")


if __name__ == "__main__":
    main()
