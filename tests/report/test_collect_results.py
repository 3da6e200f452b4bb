"""A run dir reads back into one result row, whatever state it was left in."""

from __future__ import annotations

from dreamlab.report.collect_results import collect_run, expand_run_dirs
from dreamlab.runtime.atomic import atomic_write_json

from .fake_runs import write_fake_run


def test_finished_run_row(tmp_path) -> None:
    run = write_fake_run(tmp_path / "r", "CartPole-v1", final=(480.0, 9.0),
                         stop_reason="target")
    row = collect_run(run, default_targets={"CartPole-v1": 475.0})
    assert row["env"] == "CartPole-v1" and row["target"] == 475.0
    assert row["status"] == "done"
    assert (row["final_mean"], row["final_std"]) == (480.0, 9.0)
    assert row["best_eval_mean"] == 480.0  # the final evaluation beat the snapshots
    assert row["generations"] == 5 and row["stop_reason"] == "target"
    assert row["early_stopped"] is True and row["reached_target"] is True
    assert row["wall_time_s"] == 25.0


def test_unfinished_run_is_incomplete_not_an_error(tmp_path) -> None:
    run = write_fake_run(tmp_path / "r", eval_done=False, stop_reason="max_generations")
    row = collect_run(run)
    assert row["status"] == "incomplete" and row["final_mean"] is None
    assert row["best_eval_mean"] == 50.0 and row["early_stopped"] is False
    assert row["target"] is None and row["reached_target"] is False


def test_expand_curriculum_and_parent_dirs(tmp_path) -> None:
    cur = tmp_path / "cur"
    write_fake_run(cur / "A_worldmodel", "CartPole-v1")
    write_fake_run(cur / "B_worldmodel", "Acrobot-v1")
    atomic_write_json(cur / "curriculum_state.json", {"envs": [
        {"env": "Acrobot-v1", "run_dir": "B_worldmodel", "target": -100},
        {"env": "CartPole-v1", "run_dir": "A_worldmodel", "target": 475},
        {"env": "ALE/Pong-v5", "run_dir": "C_worldmodel", "target": 18},  # never ran
    ]})
    runs = expand_run_dirs([cur])
    assert [(p.name, t) for p, t in runs] == [("B_worldmodel", -100.0), ("A_worldmodel", 475.0)]
    single = expand_run_dirs([cur / "A_worldmodel"])
    assert single == [(cur / "A_worldmodel", None)]
    parent = tmp_path / "many"
    write_fake_run(parent / "x", "CartPole-v1")
    assert [p.name for p, _ in expand_run_dirs([parent])] == ["x"]
    assert expand_run_dirs([tmp_path / "nothing"]) == []
