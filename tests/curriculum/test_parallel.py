"""`--parallel-envs N`: the sequential loop's run dirs, state and results, failures kept
per entry, resume intact. Logic is tested inline with the fake pipeline; real PPO entries
in local processes (and on a local Ray) check that workers really train them."""

from __future__ import annotations

import json
import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from dreamlab.curriculum import parallel
from dreamlab.curriculum.commands import register
from dreamlab.curriculum.runner import CurriculumOptions, run_curriculum
from dreamlab.curriculum.spec import parse_curriculum
from dreamlab.errors import ConfigError
from dreamlab.parallel.executor import InlineExecutor

SMALL = parse_curriculum({"name": "small", "envs": [
    {"env": "CartPole-v1", "target": 475, "obs": "state"},
    {"env": "Acrobot-v1", "target": -100, "obs": "state"},
    {"env": "MountainCar-v0", "target": -110, "obs": "state"},
]})
# Two PPO entries small enough that a spawned worker trains each in a few seconds.
_PPO = {"total_steps": 128, "num_envs": 4, "num_steps": 32, "batch_size": 64,
        "num_epochs": 1, "device": "cpu", "num_threads": 1, "log_every_s": 60.0}
TWO_PPO = parse_curriculum({"name": "two", "envs": [
    {"env": "CartPole-v1", "algo": "ppo", "obs": "state", "target": 475, "overrides": _PPO},
    {"env": "Acrobot-v1", "algo": "ppo", "obs": "state", "target": -100, "overrides": _PPO},
]})


def _saved(out: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The results' env rows and the state's (env, status) pairs, without timestamps."""
    rows = json.loads((out / "curriculum_results.json").read_text())["envs"]
    state = json.loads((out / "curriculum_state.json").read_text())["envs"]
    return rows, [(e["env"], e["status"]) for e in state]


def _comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without what differs between two dirs and two sessions: paths and times."""
    return [{k: v for k, v in r.items() if k != "run_dir" and "time" not in k} for r in rows]


def test_parallel_inline_writes_what_the_sequential_loop_writes(
        tmp_path, fake_pipeline, no_plots) -> None:
    fake_pipeline.fail_on = "Acrobot-v1"
    run_curriculum(SMALL, tmp_path / "seq")
    run_curriculum(SMALL, tmp_path / "par", parallel_envs=3, executor="inline")
    seq, par = _saved(tmp_path / "seq"), _saved(tmp_path / "par")
    assert par[1] == seq[1] == [("CartPole-v1", "done"), ("Acrobot-v1", "failed"),
                                ("MountainCar-v0", "done")]
    assert _comparable(par[0]) == _comparable(seq[0])
    assert "disk full" in par[0][1]["reason"]
    assert (tmp_path / "par" / "results" / "results_table.tex").read_text() == \
        (tmp_path / "seq" / "results" / "results_table.tex").read_text()


def test_a_bug_in_one_entry_is_recorded_and_the_others_finish(
        tmp_path, fake_pipeline, no_plots, monkeypatch, dreamlab_log) -> None:
    run = fake_pipeline.run

    def buggy(self: Any) -> Any:
        if self.cfg.env == "CartPole-v1":
            raise ZeroDivisionError("a bug in the trainer")
        return run(self)

    monkeypatch.setattr(fake_pipeline, "run", buggy)
    result = run_curriculum(SMALL, tmp_path / "c", parallel_envs=2, executor="inline")
    assert [r["status"] for r in result.rows] == ["failed", "done", "done"]
    assert "ZeroDivisionError: a bug in the trainer" in result.rows[0]["reason"]
    assert any("Traceback" in r.getMessage() for r in dreamlab_log.records)


def test_resume_after_a_parallel_run_trains_only_what_did_not_finish(
        tmp_path, fake_pipeline, no_plots) -> None:
    fake_pipeline.fail_on = "MountainCar-v0"
    run_curriculum(SMALL, tmp_path / "c", parallel_envs=2, executor="inline")
    fake_pipeline.fail_on = None
    fake_pipeline.calls.clear()
    result = run_curriculum(SMALL, tmp_path / "c", parallel_envs=2, executor="inline")
    assert fake_pipeline.calls == ["MountainCar-v0"]
    assert [r["status"] for r in result.rows] == ["done", "done", "done"]


class _LosesItsWorker(InlineExecutor):
    """Returns the first entry, then breaks as a pool whose process was killed does."""

    def imap_unordered(self, fn, jobs):  # type: ignore[override]
        yield fn(jobs[0])
        raise BrokenProcessPool("a child process terminated abruptly")


def test_a_lost_worker_fails_only_the_entries_it_took(
        tmp_path, fake_pipeline, no_plots, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "make_executor", lambda *a, **k: _LosesItsWorker())
    result = run_curriculum(SMALL, tmp_path / "c", parallel_envs=3)
    assert [r["status"] for r in result.rows] == ["done", "failed", "failed"]
    assert "worker was lost" in result.rows[1]["reason"]
    assert "re-run the same command" in result.rows[2]["reason"]


def test_parallel_flags_are_checked(tmp_path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    handlers = register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["curriculum", "--ray-address", "auto",
                              "--checkpoint-dir", str(tmp_path)])
    with pytest.raises(ConfigError, match="--ray-address needs --executor ray"):
        handlers["curriculum"](args)
    with pytest.raises(ConfigError, match="--parallel-envs must be >= 1"):
        run_curriculum(SMALL, tmp_path / "c", parallel_envs=0)


def test_entries_travel_to_local_processes_and_their_failures_come_back(tmp_path,
                                                                        no_plots) -> None:
    """Spawned workers get the jobs and return outcomes: here two entries whose configs a
    worker rejects (a batch that does not divide the rollout), recorded per entry."""
    bad = {**_PPO, "batch_size": 48}
    spec = parse_curriculum({"name": "bad", "envs": [
        {**e.to_dict(), "overrides": bad} for e in TWO_PPO.entries]})
    result = run_curriculum(spec, tmp_path / "c", parallel_envs=2)
    assert [r["status"] for r in result.rows] == ["failed", "failed"]
    assert all("--batch-size 48 does not divide" in r["reason"] for r in result.rows)


@pytest.mark.slow  # 14-23 s each on the 2-core CPU, by its load: workers import torch
@pytest.mark.parametrize("executor", ["local", "ray"])
def test_two_ppo_entries_in_parallel_match_the_sequential_run(tmp_path, no_plots,
                                                              executor: str) -> None:
    """Real workers train the entries: the same evaluations as one after another."""
    if executor == "ray":
        pytest.importorskip("ray")
    options = CurriculumOptions(episodes_per_eval=1)
    seq = run_curriculum(TWO_PPO, tmp_path / "seq", options)
    par = run_curriculum(TWO_PPO, tmp_path / "par", options, parallel_envs=2,
                         executor=executor)
    assert [r["status"] for r in par.rows] == ["done", "done"]
    assert _comparable(par.rows) == _comparable(seq.rows)
    for name in ("CartPole-v1_ppo", "Acrobot-v1_ppo"):
        got = json.loads((tmp_path / "par" / name / "evaluation_results.json").read_text())
        want = json.loads((tmp_path / "seq" / name / "evaluation_results.json").read_text())
        assert got["returns"] == want["returns"]


def test_a_worker_that_cannot_see_the_curriculum_dir_says_so(tmp_path) -> None:
    """A Ray node without the shared file system: one line, not training into a dir the
    driver never reads."""
    from dreamlab.curriculum.runner import EntryJob

    job = EntryJob(SMALL.entries[0], "[1/3] CartPole-v1", tmp_path / "elsewhere",
                   CurriculumOptions())
    remote = parallel.RemoteEntryJob(job, str(tmp_path), os.getpid())
    outcome = parallel.train_entry_isolated(remote)
    assert outcome.failed is not None and "not visible on this worker's node" in outcome.failed
    assert not (tmp_path / "elsewhere").exists()


def test_entries_on_a_local_ray_come_back_as_from_local_processes(tmp_path,
                                                                  no_plots) -> None:
    pytest.importorskip("ray")
    import ray

    bad = {**_PPO, "batch_size": 48}
    spec = parse_curriculum({"name": "bad", "envs": [
        {**e.to_dict(), "overrides": bad} for e in TWO_PPO.entries]})
    result = run_curriculum(spec, tmp_path / "c", parallel_envs=2, executor="ray")
    assert [r["status"] for r in result.rows] == ["failed", "failed"]
    assert all("--batch-size 48 does not divide" in r["reason"] for r in result.rows)
    assert not ray.is_initialized()  # the curriculum started this Ray, so it stopped it
