"""A self-play run with rocket.car_frame_obs: the longer observation reaches the network,
the checkpoint and the evaluation games (the chaser reads DefaultObs' columns in front)."""

import glob
import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym_tools")
pytest.importorskip("pettingzoo")
pytest.importorskip("openskill")

from dreamlab.config.ppo import PPOConfig  # noqa: E402
from dreamlab.envs.rocket.fast_obs import obs_size  # noqa: E402
from dreamlab.ppo.selfplay import train as sp_train  # noqa: E402
from dreamlab.ppo.selfplay.evaluate import evaluate_selfplay_run  # noqa: E402


def test_a_car_frame_run_trains_and_plays(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = PPOConfig(env="rocket", num_envs=2, num_steps=32, batch_size=64, num_epochs=1,
                    total_steps=128, checkpoint_every=128, hidden_size=16, device="cpu",
                    eval_episodes=1, num_threads=1, log_every_s=60.0, checkpoint_dir=str(run))
    cfg.rocket = {"max_team_size": 1, "car_frame_obs": True, "no_touch_timeout_s": 1.0,
                  "game_timeout_s": 3.0}
    cfg.selfplay = {"curriculum_stages": [{"team_size": "1v1", "start": 0}],
                    "snapshot_every": 64, "pool_size": 2}
    sp_train.train_selfplay(cfg)
    ckpt = torch.load(sorted(glob.glob(str(run / "checkpoints" / "step_*.pt")))[-1],
                      weights_only=False)
    assert ckpt["policy"]["actor.0.weight"].shape[1] == obs_size(1, car_frame=True) == 92 + 15
    evaluate_selfplay_run(run, episodes=2, opponent=["chaser", "random"])
    games = json.loads((run / "evaluation_results.json").read_text())
    for name in ("chaser", "random"):
        assert sum(games["opponents"][name][k] for k in ("wins", "draws", "losses")) == 2
