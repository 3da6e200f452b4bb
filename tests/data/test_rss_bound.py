"""RAM stays within --data-ram-gb however large the dataset (issue: storage floor, item 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dreamlab.data.synthetic import write_synthetic_frame_store

BUDGET = 64 * 1024 * 1024
SLACK = 300 * 1024 * 1024  # interpreter + torch + DataLoader; no model in this test
FRAMES_PER_EPISODE = 1000
RAW_FRAME_BYTES = 64 * 64 * 3


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10x the budget in raw frames (~660 MB), a few MB on disk, made in about 2 s."""
    root = tmp_path_factory.mktemp("big")
    episodes = -(-10 * BUDGET // (FRAMES_PER_EPISODE * RAW_FRAME_BYTES))
    write_synthetic_frame_store(root, episodes, FRAMES_PER_EPISODE - 1, seed=0)
    return root


def _stream(root: Path, workers: int) -> dict:
    child = Path(__file__).with_name("rss_child.py")
    out = subprocess.run(
        [sys.executable, str(child), str(root), str(BUDGET), str(workers)],
        check=True, capture_output=True, text=True, timeout=240,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_peak_rss_stays_within_budget_streaming_10x_dataset(big_store: Path) -> None:
    result = _stream(big_store, workers=0)
    assert result["frames"] * RAW_FRAME_BYTES >= 10 * BUDGET
    assert result["peak_rss"] <= BUDGET + SLACK, result


@pytest.mark.slow
def test_peak_memory_with_two_workers_stays_within_budget(big_store: Path) -> None:
    result = _stream(big_store, workers=2)
    assert result["frames"] * RAW_FRAME_BYTES >= 10 * BUDGET
    assert result["peak_pss"] <= BUDGET + SLACK, result
