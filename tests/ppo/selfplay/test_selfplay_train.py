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
                    eval_episodes=2,
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
    assert (run / "plots" / "training.png").stat().st_size > 1000
    ev = result.evaluation.extra  # the final learner against random play
    assert ev["opponent"] == "random" and ev["wins"] + ev["draws"] + ev["losses"] == 2
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


def test_games_against_the_scripted_chaser_are_played_rated_and_logged(tmp_path) -> None:
    from dreamlab.runtime.logger import read_metrics

    cfg = _cfg(tmp_path, 128)
    cfg.selfplay = {**cfg.selfplay, "p_chaser": 1.0}
    train_selfplay(cfg)
    run = tmp_path / "run"
    ratings = json.loads((run / "selfplay_ratings.json").read_text())["ratings"]
    assert "chaser" in ratings
    # Every game was against the chaser: its rating moved away from where it started.
    assert ratings["chaser"] != [25.0, 25.0 / 3]
    scores = read_metrics(run / "logs").get("selfplay/score_vs_chaser", [])
    assert scores and all(0.0 <= v <= 1.0 for _, v in scores)


def test_games_against_itself_train_both_sides_and_resume_only_alike(tmp_path) -> None:
    from dreamlab.errors import IncompatibleRunError
    from dreamlab.runtime.logger import read_metrics

    cfg = _cfg(tmp_path, 128)
    cfg.selfplay = {**cfg.selfplay, "p_self": 0.5}
    result = train_selfplay(cfg)
    run = tmp_path / "run"
    ratings = json.loads((run / "selfplay_ratings.json").read_text())
    assert "self" not in ratings["ratings"]  # the learner against itself is not rated
    assert 0 < ratings["games"] == result.evaluation.extra["rated_games"]
    played = result.evaluation.extra["training_games"]
    assert played["against_itself"] > 0
    assert played["wins"] + played["draws"] + played["losses"] == ratings["games"]
    assert read_metrics(run / "logs").get("train/episode_return")
    ckpt = StepCheckpointer(run / "checkpoints").load_latest()
    assert json.loads(ckpt["selfplay"]["pool"])["p_self"] == 0.5
    # A column per car of both teams: 2 envs x 2 padded slots x 2 teams.
    assert tuple(ckpt["reward_scaler"]["returns"].shape) == (8,)
    cfg = _cfg(tmp_path, 192)  # p_self back to 0 on the same run: one line, not a crash
    with pytest.raises(IncompatibleRunError, match="p_self"):
        train_selfplay(cfg)


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
    # `dreamlab eval RUN_DIR` plays the newest checkpoint against random play.
    assert main(["eval", str(run), "--episodes", "3"]) == 0
    ev = json.loads((run / "evaluation_results.json").read_text())
    assert ev["opponent"] == "random" and ev["episodes"] == 3
    assert ev["wins"] + ev["draws"] + ev["losses"] == 3 and ev["team_size"] == "2v2"
    assert ev["touches_per_minute"] >= 0.0


def test_missing_rocket_extra_is_one_line_from_the_cli(tmp_path, monkeypatch, capsys) -> None:
    import dreamlab.envs.rocket as rocket
    from dreamlab.cli import main

    monkeypatch.setattr(rocket, "rocket_missing", lambda: ["RocketSim"])
    code = main(["ppo", "--env", "rocket:1v1", "--total-steps", "64",
                 "--checkpoint-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "needs the rocket extra" in err and "dreamlab[rocket]" in err


@pytest.mark.slow
def test_resume_after_kill_9_keeps_pool_and_ratings(tmp_path) -> None:
    """A run killed with SIGKILL after a checkpoint resumes with that checkpoint's pool and
    ratings (the checkpoint holds them beside the network)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    yaml = tmp_path / "sp.yaml"
    yaml.write_text(
        "env: rocket\nnum_envs: 2\nnum_steps: 32\nbatch_size: 64\nnum_epochs: 1\n"
        "total_steps: 100000\ncheckpoint_every: 128\nhidden_size: 16\ndevice: cpu\n"
        "num_threads: 1\nrocket: {no_touch_timeout_s: 1.0}\n"
        "selfplay: {snapshot_every: 64, pool_size: 50}\n")
    cmd = [sys.executable, "-m", "dreamlab", "ppo", "--config", str(yaml),
           "--checkpoint-dir", str(run)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and \
            len(StepCheckpointer(run / "checkpoints").existing()) < 2:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ckpt = StepCheckpointer(run / "checkpoints").load_latest()
    killed_at = ckpt["counters"]["global_step"]
    pool = json.loads(ckpt["selfplay"]["pool"])["snapshots"]
    games = json.loads(ckpt["selfplay"]["ratings"])["games"]
    yaml.write_text(yaml.read_text().replace("total_steps: 100000",
                                             f"total_steps: {killed_at + 128}"))
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    after = StepCheckpointer(run / "checkpoints").load_latest()
    assert after["counters"]["global_step"] == killed_at + 128
    after_pool = json.loads(after["selfplay"]["pool"])["snapshots"]
    assert after_pool[:len(pool)] == pool and len(after_pool) == len(pool) + 2
    assert json.loads(after["selfplay"]["ratings"])["games"] > games


def test_resume_with_another_padding_is_one_line(tmp_path) -> None:
    from dreamlab.errors import IncompatibleRunError

    train_selfplay(_cfg(tmp_path, 64))
    cfg = _cfg(tmp_path, 128)
    cfg.rocket = {**cfg.rocket, "max_team_size": 3}
    with pytest.raises(IncompatibleRunError, match="rocket.max_team_size=2"):
        train_selfplay(cfg)


@pytest.mark.parametrize(("cpus", "vectorization", "num_envs", "layout"), [
    (2, "auto", 8, (1, True)),  # one worker plus the learner's process
    (8, "auto", 8, (7, True)),
    (16, "auto", 8, (7, True)),  # never more workers than envs left for them
    (2, "sync", 8, (0, False)),
    (2, "auto", 1, (0, False)),
    (4, "async", 8, (4, False)),
])
def test_env_layout_per_machine(monkeypatch, cpus, vectorization, num_envs, layout) -> None:
    from dreamlab.ppo.selfplay import train

    monkeypatch.setattr(train, "cpu_count", lambda: cpus)
    cfg = PPOConfig(env="rocket:1v1", vectorization=vectorization, num_envs=num_envs,
                    batch_size=num_envs * 128)
    assert train.env_workers(cfg) == layout
