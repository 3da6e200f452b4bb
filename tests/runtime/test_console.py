"""Runs work on consoles that cannot print Unicode, and in logs that are not terminals.

A C locale or PYTHONIOENCODING=ascii must never raise UnicodeEncodeError (the controller's
"±", rich's box drawing), and when output goes to a pipe or a CI log the progress bars turn
into periodic plain lines: no carriage returns, no terminal escape codes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dreamlab.runtime.progress import ProgressBar

TINY = dict(
    env="CartPole-v1", obs="state", num_random_rollouts=6, collect_workers=1,
    mdnrnn_epochs=1, mdnrnn_hidden=16, mdnrnn_seq_len=8, mdnrnn_batch=4, cma_pop_size=4,
    cma_generations=2, rollouts_per_candidate=2, eval_every=1, eval_rollouts=2,
    eval_episodes=2, dream_max_steps=30, max_episode_steps=60, device="cpu", num_threads=1,
)

ASCII_IO = {"PYTHONIOENCODING": "ascii"}
# PEP 538/540 would turn a C locale into UTF-8 mode; switched off, the streams are ASCII.
C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}


@pytest.mark.parametrize("env_vars", [ASCII_IO, C_LOCALE], ids=["ascii-io", "c-locale"])
def test_tiny_run_on_an_ascii_console_through_a_pipe(env_vars: dict[str, str],
                                                     tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONIOENCODING", "LC_ALL", "LANG", "PYTHONUTF8", "COLUMNS")}
    env.update(env_vars)
    flags = [a for k, v in TINY.items() for a in ("--" + k.replace("_", "-"), str(v))]
    out = subprocess.run(
        [sys.executable, "-m", "dreamlab", "run", *flags, "--checkpoint-dir",
         str(tmp_path / "run")],
        capture_output=True, env=env, timeout=300,
    )
    text = (out.stdout + out.stderr).decode("ascii")  # raises if anything is not ASCII
    assert out.returncode == 0, text[-2000:]
    assert "UnicodeEncodeError" not in text and "Traceback" not in text
    assert "pipeline summary" in text and "eval: done" in text
    # not a terminal: no live progress bar redraws, no colour or cursor codes
    assert "\r" not in text and "\x1b[" not in text
    assert (tmp_path / "run" / "evaluation_results.json").exists()


def test_progress_bar_logs_plain_lines_when_not_a_terminal(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dreamlab"):
        with ProgressBar("vae epoch 1/1", total=4, log_every_s=0.0) as bar:
            for _ in range(4):
                bar.advance(1, loss=0.5)
    lines = [r.getMessage() for r in caplog.records]
    assert lines and all(line.startswith("vae epoch 1/1") for line in lines)
    assert "4/4" in lines[-1] and "loss=0.5" in lines[-1]
    assert "eta" in lines[0]
