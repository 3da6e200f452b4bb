"""Self-play PPO end to end on tiny settings: stages, snapshots, ratings, resume."""

import json

import pytest

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym_tools")
pytest.importorskip("pettingzoo")
pytest.importorskip("openskill")
pytest.importorskip("torch")

from dreamlab.config.ppo import PPOConfig  # noqa: E402
from dreamlab.ppo.selfplay.train import train_selfplay  # noqa: E402
from dreamlab.runtime.checkpoint import StepCheckpointer  # noqa: E402


def _cfg(tmp_path, total: int) -> PPOConfig:
    cfg = PPOConfig(env="rocket", num_envs=2, num_steps=32, batch_size=64, num_epochs=1,
                    total_steps=total, checkpoint_every=128, hidden_size=16, device="cpu",
                    num_threads=1, log_every_s=60.0, checkpoint_dir=str(tmp_path / "run"))
    cfg.rocket = {"no_touch_timeout_s": 1.0}  # ~15-step games: many rated games
    cfg.selfplay = {"curriculum_stages": [{"team_size": "1v1", "start": 0},
                                          {"team_size": "2v2", "start": 128}],
                    "snapshot_every": 64, "pool_size": 3}
    return cfg


def test_selfplay_trains_rates_and_resumes(tmp_path) -> None:
    result = train_selfplay(_cfg(tmp_path, 256))
    run = tmp_path / "run"
    saved = json.loads((run / "selfplay_ratings.json").read_text())
    assert saved["games"] > 0 and saved["games"] == result.evaluation.extra["rated_games"]
    assert (run / "plots" / "ratings.png").stat().st_size > 1000
    ckpt = StepCheckpointer(run / "checkpoints").load_latest()
    assert ckpt["counters"]["global_step"] == 256
    pool = json.loads(ckpt["selfplay"]["pool"])
    assert [s["timesteps"] for s in pool["snapshots"]] == [128, 192, 256]  # pool_size 3
    assert sorted(p.name for p in (run / "checkpoints" / "pool").glob("*.pt")) == \
        [f"step_{t:012d}.pt" for t in (0, 64, 128, 192, 256)]  # step 128 names 0, 64
    # A second call with a longer budget resumes: same pool, ratings carried on.
    again = train_selfplay(_cfg(tmp_path, 320))
    assert again.evaluation.extra["rated_games"] > saved["games"]
    ckpt = StepCheckpointer(run / "checkpoints").load_latest()
    assert ckpt["counters"]["global_step"] == 320
    assert [s["timesteps"] for s in json.loads(ckpt["selfplay"]["pool"])["snapshots"]] == \
        [192, 256, 320]


def test_the_preset_debug_run_completes_from_the_cli(tmp_path) -> None:
    from pathlib import Path

    from dreamlab.cli import main

    preset = Path(__file__).resolve().parents[3] / "configs" / "experiments" / \
        "ppo_rocket_selfplay.yaml"
    run = tmp_path / "debug"
    assert main(["ppo", "--config", str(preset), "--debug", "--checkpoint-dir", str(run)]) == 0
    ratings = json.loads((run / "selfplay_ratings.json").read_text())
    assert ratings["games"] > 0  # debug games are short enough to end and be rated
    ckpt = StepCheckpointer(run / "checkpoints").load_latest()
    assert ckpt["counters"]["global_step"] >= 1000
    assert len(json.loads(ckpt["selfplay"]["pool"])["snapshots"]) >= 3


def test_missing_rocket_extra_is_one_line_from_the_cli(tmp_path, monkeypatch, capsys) -> None:
    import dreamlab.envs.rocket as rocket
    from dreamlab.cli import main

    monkeypatch.setattr(rocket, "rocket_missing", lambda: ["RocketSim"])
    code = main(["ppo", "--env", "rocket:1v1", "--total-steps", "64",
                 "--checkpoint-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "needs the rocket extra" in err and "dreamlab[rocket]" in err
