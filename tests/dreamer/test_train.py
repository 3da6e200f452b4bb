"""The training loop end to end on a tiny state task: a world-model loss that falls, and
a resume after a real `kill -9` that continues the counters exactly, with no burst of
catch-up updates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from dreamlab.config.base import resolve_config
from dreamlab.config.dreamer import DreamerConfig
from dreamlab.dreamer.agent import to_torch_batch
from dreamlab.dreamer.evaluate import build_agent
from dreamlab.dreamer.train import updates_owed
from dreamlab.runtime.atomic import safe_torch_load
from dreamlab.runtime.device import torch_threads
from dreamlab.runtime.logger import read_metrics

TINY = ["--env", "CartPole-v1", "--mode", "quick", "--total-steps", "400",
        "--checkpoint-every", "100", "--log-every", "50", "--eval-episodes", "1",
        "--num-threads", "1"]


def test_world_model_loss_falls_on_tiny_data() -> None:
    torch.manual_seed(0)
    cfg = resolve_config(DreamerConfig, "quick", overrides={"env": "CartPole-v1",
                                                           "model_lr": 3e-3})
    agent, info, spec = build_agent(cfg, torch.device("cpu"))
    rng = np.random.default_rng(0)
    b, t = 4, 12
    # A deterministic little world: obs rotates, reward is the first obs coordinate.
    steps = np.arange(t)[None, :] + rng.integers(0, 5, (b, 1))
    obs = np.stack([np.sin(steps), np.cos(steps), np.sin(2 * steps), steps % 3], -1)
    batch = to_torch_batch({
        "obs": obs.astype(np.float32), "reward": obs[..., 0].astype(np.float32),
        "action": np.eye(2, dtype=np.float32)[steps % 2],
        "is_first": np.eye(t, dtype=bool)[0][None].repeat(b, 0),
        "is_terminal": np.zeros((b, t), bool)}, torch.device("cpu"))
    with torch_threads(1):  # tiny matrices: a second thread only adds contention
        losses = [agent.train_step(batch, behavior=False)["wm/loss"] for _ in range(60)]
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses


def _latest(run_dir: Path) -> int:
    names = sorted((run_dir / "checkpoints").glob("step_*.pt"))
    return int(names[-1].stem.split("_")[1]) if names else 0


def _start(run_dir: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "dreamlab", "dreamer", *TINY,
                             "--checkpoint-dir", str(run_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_resume_after_kill_9_continues_counters_exactly(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = _start(run_dir)
    deadline = time.monotonic() + 240
    while _latest(run_dir) < 200 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = _latest(run_dir)
    before = safe_torch_load(sorted((run_dir / "checkpoints").glob("step_*.pt"))[-1])
    assert 200 <= killed_at < 400

    proc = _start(run_dir)
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out
    c0 = before["counters"]
    assert (f"resumed at {c0['agent_steps']} env steps, {c0['updates']} updates, "
            f"{c0['episodes']} episodes") in " ".join(out.split())

    final = safe_torch_load(sorted((run_dir / "checkpoints").glob("step_*.pt"))[-1])
    cfg = resolve_config(DreamerConfig, "quick", overrides={"env": "CartPole-v1"})
    counters = final["counters"]
    assert counters["agent_steps"] == 400 and counters["resumes"] == 1
    assert counters["updates"] == updates_owed(cfg, 400, cfg.batch_size)
    replay_state = json.loads(
        (run_dir / "checkpoints" / "replay_000000000400" / "state.json").read_text())
    assert replay_state["total_written"] == 400  # replay continued, not restarted
    # No burst: at every logged step, before and after the kill, the updates done are
    # exactly what the train ratio owed by then.
    logged = read_metrics(run_dir / "logs")["train/updates"]
    assert [s for s, _ in logged] == list(range(50, 401, 50))
    for step, updates in logged:
        assert updates == updates_owed(cfg, step, cfg.batch_size), (step, updates)
    assert json.loads((run_dir / "evaluation_results.json").read_text())["algo"] == "dreamer"
