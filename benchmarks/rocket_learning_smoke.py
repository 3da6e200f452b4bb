"""Does self-play PPO learn on RocketSim at all? A 250k-step 1v1 smoke test on 2 cores.

Re-run:  .venv/bin/python benchmarks/rocket_learning_smoke.py      (about 3-5 minutes)
Writes benchmarks/results/rocket_learning_smoke.json.

Goals are far too rare to learn from in minutes, so this run rewards only the dense part
(ball touches and car speed towards the ball, not zero-sum) and checks the plumbing end
to end: the learner's return per game should rise and its policy entropy fall (ln 90 =
4.50 is uniform). It is not issue 13's learning benchmark (60 min, >= 90% wins against
random, more goals than conceded against a chaser), which is not run here.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rocket_throughput import cpu_model, git_head  # noqa: E402

from _common import save_result  # noqa: E402


def log(msg: str) -> None:
    print(f"[rocket_learning_smoke {time.strftime('%H:%M:%S')}] {msg}", flush=True)


SETTINGS = dict(env="rocket:1v1", num_envs=8, total_steps=250_000, checkpoint_every=125_000,
                num_steps=256, batch_size=1024, num_epochs=4, learning_rate=1e-3,
                anneal_lr=False, gamma=0.99, ent_coef=0.0, hidden_size=128, hidden_layers=2,
                activation="relu", norm_reward=True, eval_episodes=8, device="cpu")
ROCKET = {"rewards": {"goal": 0.0, "touch": 1.0, "player_to_ball_velocity": 1.0,
                      "ball_to_goal_velocity": 0.0, "team_spirit": 0.0,
                      "opponent_weight": 0.0}}
SELFPLAY = {"snapshot_every": 50_000}


def main() -> None:
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.selfplay.train import train_selfplay
    from dreamlab.runtime.logger import read_metrics

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = PPOConfig(**SETTINGS, checkpoint_dir=str(Path(tmp) / "run"), rocket=ROCKET,
                        selfplay=SELFPLAY)
        start = time.perf_counter()
        result = train_selfplay(cfg)
        wall = time.perf_counter() - start
        metrics = read_metrics(Path(tmp) / "run" / "logs")

    def curve(tag: str) -> list[list[float]]:
        points = metrics.get(tag, [])
        step = max(1, len(points) // 10)
        return [[s, round(v, 4)] for s, v in points[::step] + points[-1:]]

    returns = metrics.get("train/episode_return", [])
    entropy = metrics.get("train/entropy", [])
    first = [v for _, v in returns[: max(1, len(returns) // 5)]]
    last = [v for _, v in returns[-max(1, len(returns) // 5):]]
    ev = result.evaluation
    payload = {
        "git_head": git_head(), "cpu_model": cpu_model(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "settings": {**SETTINGS, "rocket": ROCKET, "selfplay": SELFPLAY},
        "wall_s": round(wall, 1),
        "return_first_fifth_mean": round(sum(first) / len(first), 4) if first else None,
        "return_last_fifth_mean": round(sum(last) / len(last), 4) if last else None,
        "entropy_first": round(entropy[0][1], 4) if entropy else None,
        "entropy_last": round(entropy[-1][1], 4) if entropy else None,
        "curves": {t: curve(t) for t in ("train/episode_return", "train/entropy",
                                         "selfplay/rating_mu", "perf/overall_sps")},
        "eval_vs_random": {"games": ev.episodes, "mean_return": round(ev.mean_return, 4),
                           **{k: ev.extra[k] for k in ("wins", "draws", "losses")}},
    }
    path = save_result("rocket_learning_smoke", payload)
    log(f"return {payload['return_first_fifth_mean']} -> {payload['return_last_fifth_mean']}, "
        f"entropy {payload['entropy_first']} -> {payload['entropy_last']} in {wall:.0f} s; "
        f"wrote {path}")


if __name__ == "__main__":
    main()
