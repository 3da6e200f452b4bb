"""Choosing the final learner by validation games (select.py) on a tiny self-play run."""

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym_tools")
pytest.importorskip("pettingzoo")
pytest.importorskip("openskill")

from dreamlab.config.ppo import PPOConfig  # noqa: E402
from dreamlab.errors import CheckpointError, ConfigError  # noqa: E402
from dreamlab.ppo.selfplay import select as sel  # noqa: E402
from dreamlab.ppo.selfplay import train as sp_train  # noqa: E402
from dreamlab.ppo.selfplay.config import SelfPlayConfig  # noqa: E402
from dreamlab.ppo.selfplay.evaluate import load_learner  # noqa: E402
from dreamlab.runtime.stop import StopRule  # noqa: E402


def tiny_cfg(run: Path, **selfplay) -> PPOConfig:
    cfg = PPOConfig(env="rocket", num_envs=2, num_steps=32, batch_size=64, num_epochs=1,
                    total_steps=256, checkpoint_every=128, hidden_size=16, device="cpu",
                    eval_episodes=2, num_threads=1, log_every_s=60.0, checkpoint_dir=str(run))
    cfg.rocket = {"no_touch_timeout_s": 1.0, "game_timeout_s": 4.0}
    cfg.selfplay = {"curriculum_stages": [{"team_size": "1v1", "start": 0}],
                    "snapshot_every": 64, "pool_size": 3, **selfplay}
    return cfg


@pytest.fixture(scope="module")
def selected(tmp_path_factory) -> Path:
    """A 256-step run (snapshots at 0, 64, ..., 192) that chooses among the final
    learner and its 2 newest snapshots, 3 games each against random and the chaser."""
    run = tmp_path_factory.mktemp("select") / "run"
    sp_train.train_selfplay(tiny_cfg(run, select_candidates=2, select_games=3,
                                     select_opponents="random,chaser"))
    return run


def test_the_best_goal_difference_wins_and_a_tie_goes_to_the_newer() -> None:
    rows = [{"goal_difference": d} for d in (3, 5, 5, -2)]
    assert sel.best(rows) == 1
    assert sel.best([{"goal_difference": 0}, {"goal_difference": 0}]) == 0
    with pytest.raises(ValueError):
        sel.best([])


def test_the_final_learner_and_the_newest_snapshots_play_the_same_games(selected) -> None:
    report = json.loads((selected / sel.SELECTION_JSON).read_text())
    rows = report["candidates"]
    assert [r["learner"] for r in rows] == ["final", "step_000000000192", "step_000000000128"]
    assert [r["train_env_steps"] for r in rows] == [256, 192, 128]
    assert report["opponents"] == ["random", "chaser"] and report["skipped"] == []
    for r in rows:
        for name in ("random", "chaser"):
            assert sum(r[name].values()) == 3
        assert r["goal_difference"] == sum(r[n]["wins"] - r[n]["losses"]
                                           for n in ("random", "chaser"))
    chosen = rows[sel.best(rows)]
    assert report["chosen"] == chosen["learner"]
    assert report["chosen_train_env_steps"] == chosen["train_env_steps"]


def test_evaluation_plays_the_chosen_learner_until_training_goes_on(selected, tmp_path) -> None:
    report = json.loads((selected / sel.SELECTION_JSON).read_text())
    ckpt = load_learner(selected)
    assert ckpt["selection"]["learner"] == report["chosen"]
    assert ckpt["counters"]["global_step"] == report["chosen_train_env_steps"]
    ev = json.loads((selected / "evaluation_results.json").read_text())
    assert report["chosen"] in ev["learner"]
    # A newer checkpoint (training resumed past the choice) makes the choice stale.
    run = tmp_path / "run"
    shutil.copytree(selected, run)
    newest = run / "checkpoints" / "step_000000000256.pt"
    state = torch.load(newest, weights_only=False)
    state["counters"]["global_step"] = 384
    torch.save(state, run / "checkpoints" / "step_000000000384.pt")
    assert "selection" not in load_learner(run)
    assert load_learner(run)["counters"]["global_step"] == 384


def test_a_spent_time_budget_skips_the_older_candidates(selected, tmp_path) -> None:
    run = tmp_path / "run"
    shutil.copytree(selected, run)
    report = sel.select_final_learner(run, snapshots=2, games=2, minutes=1e-9)
    assert [r["learner"] for r in report["candidates"]] == ["final"]
    assert report["skipped"] == ["step_000000000192", "step_000000000128"]
    assert report["chosen"] == "final"


def test_workers_play_the_same_games_as_one_process(selected, tmp_path) -> None:
    """Candidates played in spawned processes give the rows that playing them one after
    another in this process gives. The run's games are made 30 s long here, so the
    chaser scores in some and the rows differ from seed to seed (checked)."""
    assert json.loads((selected / sel.SELECTION_JSON).read_text())["workers"] == 2
    run = tmp_path / "run"
    shutil.copytree(selected, run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["rocket"]["game_timeout_s"] = 30.0
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    kw = {"snapshots": 2, "games": 3, "opponents": "chaser"}
    side_by_side = sel.select_final_learner(run, workers=2, **kw)
    one_by_one = sel.select_final_learner(run, workers=1, **kw)
    assert one_by_one["candidates"] == side_by_side["candidates"]
    assert one_by_one["chosen"] == side_by_side["chosen"]
    # The games decide something, so a worker on other seeds would show.
    other_seeds = [sel.play_candidate(c, run, 3, ["chaser"], side_by_side["seed"] + 1)
                   for c in sel.candidates(run, 2)]
    assert other_seeds != side_by_side["candidates"]


def test_with_workers_a_spent_budget_still_plays_the_first_of_each(selected, tmp_path) -> None:
    run = tmp_path / "run"
    shutil.copytree(selected, run)
    report = sel.select_final_learner(run, snapshots=2, games=2, minutes=1e-9, workers=2)
    assert [r["learner"] for r in report["candidates"]] == ["final", "step_000000000192"]
    assert report["skipped"] == ["step_000000000128"]


def test_the_selection_comes_out_of_the_time_budget(tmp_path, monkeypatch) -> None:
    seen: list[StopRule] = []

    class Stop(Exception):
        pass

    def capture(cfg, rocket, sp, schedule, snapshot_every, stop):
        seen.append(stop)
        raise Stop
    monkeypatch.setattr(sp_train, "SelfPlayRun", capture)
    for select, budget in ((0, 60.0), (8, 57.0)):
        with pytest.raises(Stop):
            sp_train.train_selfplay(tiny_cfg(tmp_path / f"r{select}", select_candidates=select),
                                    StopRule(max_minutes=60.0))
        assert seen[-1].max_minutes == pytest.approx(budget)


def test_unknown_validation_opponents_are_an_error() -> None:
    with pytest.raises(ConfigError, match="select-opponents"):
        SelfPlayConfig.from_dict({"select_opponents": "random,step_000000000064"})
    assert dataclasses.asdict(SelfPlayConfig.from_dict(
        {"select_opponents": "chaser"}))["select_opponents"] == "chaser"


def test_a_run_without_a_checkpoint_is_one_error_line(selected, tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(selected / "config.yaml", run / "config.yaml")
    with pytest.raises(CheckpointError, match="holds no step checkpoint"):
        sel.select_final_learner(run, snapshots=2, games=1)
