"""The training loop's operations: --debug, checkpoints, resume after kill -9, eval."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from dreamlab.cli import main
from dreamlab.config.ppo import PPOConfig
from dreamlab.ppo.train import train
from dreamlab.runtime.checkpoint import StepCheckpointer
from dreamlab.runtime.logger import read_metrics


def _checkpoints(run: Path) -> list[int]:
    return [step for step, _ in StepCheckpointer(run / "checkpoints").existing()]


def _latest(run: Path) -> dict:
    return StepCheckpointer(run / "checkpoints").load_latest()


def test_debug_completes_through_the_cli(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    code = main(["ppo", "--env", "CartPole-v1", "--debug", "--checkpoint-dir", str(run),
                 "--device", "cpu", "--num-threads", "1"])
    assert code == 0
    evaluation = json.loads((run / "evaluation_results.json").read_text())
    assert evaluation["algo"] == "ppo" and evaluation["episodes"] == 2
    assert evaluation["train_env_steps"] >= 1000
    assert (run / "plots" / "return.png").exists() and (run / "plots" / "sps.png").exists()
    assert json.loads((run / "manifest.json").read_text())["status"] == "done"
    metrics = read_metrics(run / "logs")
    for tag in ("train/policy_loss", "train/value_loss", "perf/sps", "eval/mean_return"):
        assert metrics.get(tag), tag
    # A checkpoint mid-run (every 500 steps) and the last one on exit; two are kept.
    assert len(_checkpoints(run)) == 2
    # `dreamlab eval RUN_DIR` dispatches on the manifest's algo.
    assert main(["eval", str(run), "--episodes", "1"]) == 0
    # --opponent is for Rocket League self-play runs only: here one line, exit 2.
    capsys.readouterr()
    assert main(["eval", str(run), "--opponent", "chaser"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "--opponent applies only to Rocket League" in err[0], err
    assert main(["eval", str(run), "--sample-actions"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "--sample-actions applies only to Rocket" in err[0], err


def test_kill_9_then_resume_continues_the_counters_exactly(tmp_path: Path) -> None:
    """A real SIGKILL in the middle of the 7th update (after the checkpoint at 1536 env
    steps, before the one at 2048), then the same command again: the run ends where an
    uninterrupted one ends, with one logged point per update and no gap or repeat."""
    run = tmp_path / "run"
    flags = ["ppo", "--env", "CartPole-v1", "--checkpoint-dir", str(run), "--total-steps",
             "2048", "--num-envs", "4", "--num-steps", "64", "--batch-size", "128",
             "--num-epochs", "1", "--checkpoint-every", "512", "--eval-episodes", "1",
             "--device", "cpu", "--num-threads", "1"]
    child = textwrap.dedent(f"""
        import os, signal, sys
        import dreamlab.ppo.train as t
        real, calls = t.ppo_update, [0]
        def update(*args, **kwargs):
            calls[0] += 1
            if calls[0] == 7:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        t.ppo_update = update
        from dreamlab.cli import main
        sys.exit(main({flags!r}))
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=240, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert _checkpoints(run)[-1] == 1536
    assert not (run / "evaluation_results.json").exists()

    assert main(flags) == 0
    ckpt = _latest(run)
    assert ckpt["counters"]["global_step"] == 2048 and ckpt["counters"]["updates"] == 8
    # Every row ever written (read_metrics would hide repeats): 6 updates before the
    # kill, 2 after the resume from 1536, none twice.
    with open(run / "logs" / "metrics.csv", encoding="utf-8") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)
                 if row["tag"] == "train/policy_loss"]
    assert steps == [256 * k for k in range(1, 9)]
    assert json.loads((run / "manifest.json").read_text())["status"] == "done"


def test_normalisation_statistics_survive_a_resume(tmp_path: Path, tiny: dict) -> None:
    cfg = PPOConfig(**{**tiny, "total_steps": 512, "norm_obs": True, "norm_reward": True,
                       "checkpoint_dir": str(tmp_path / "run")})
    train(cfg)
    first = _latest(tmp_path / "run")
    count = first["obs_norm"]["count"]
    assert count > 500  # 512 observations seen (plus a tiny prior)
    train(PPOConfig(**{**cfg.to_dict(), "total_steps": 1024}))
    second = _latest(tmp_path / "run")
    # Resumed, not restarted: 512 more observations on top of the saved statistics.
    assert second["obs_norm"]["count"] == count + 512
    assert second["reward_scaler"]["rms"]["count"] > first["reward_scaler"]["rms"]["count"]
    assert not torch.equal(second["obs_norm"]["mean"], torch.zeros(4, dtype=torch.float64))


def test_a_finished_run_is_not_trained_again(tmp_path: Path, tiny: dict) -> None:
    cfg = PPOConfig(**{**tiny, "total_steps": 256, "checkpoint_dir": str(tmp_path / "run")})
    train(cfg)
    before = _latest(tmp_path / "run")
    result = train(cfg)
    after = _latest(tmp_path / "run")
    assert after["counters"] == before["counters"]
    assert result.evaluation is not None and result.evaluation.episodes == 1


def test_rocket_with_executor_ray_trains_locally_and_says_so(monkeypatch) -> None:
    """Issue 14 leaves Rocket League's env workers local: one warning line, not Ray."""
    import logging

    from dreamlab.ppo.selfplay import train as selfplay

    monkeypatch.setattr(selfplay, "train_selfplay", lambda cfg, stop: "trained locally")
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("dreamlab")
    monkeypatch.setattr(logger, "propagate", False)  # only this handler sees the lines
    logger.addHandler(handler)
    try:
        assert train(PPOConfig(env="rocket", executor="ray")) == "trained locally"
    finally:
        logger.removeHandler(handler)
    lines = [r.getMessage() for r in records if "--executor ray" in r.getMessage()]
    assert len(lines) == 1 and "Rocket League" in lines[0] and "\n" not in lines[0]
