"""Bad input is one line and exit code 2: an unknown size name, a replay that does not
fit, a sequence longer than the replay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CASES = [
    (["--model-size", "huge"], "--model-size must be one of"),
    (["--replay-capacity", "100000000", "--replay-ram-gb", "0.5"], "needs 3.00 GB (30 B/step)"),
    (["--seq-len", "5000", "--replay-capacity", "1000"], "--seq-len 5000 is longer"),
]


@pytest.mark.parametrize("flags,expect", CASES)
def test_bad_input_is_one_line(flags: list[str], expect: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "dreamlab", "dreamer", "--env",
                          "CartPole-v1", "--checkpoint-dir", str(run_dir), *flags],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and expect in lines[0], lines
    assert "Traceback" not in out.stderr
    assert not run_dir.exists()  # refused before anything was written


def test_help_lists_the_issue_flags() -> None:
    out = subprocess.run([sys.executable, "-m", "dreamlab", "dreamer", "--help"],
                         capture_output=True, text=True, timeout=60, check=True)
    for flag in ("--train-ratio", "--num-envs", "--replay-capacity", "--replay-ram-gb",
                 "--replay-memmap", "--total-steps", "--model-size", "--latent"):
        assert flag in out.stdout
