"""Disk budget: refuse before writing, stop cleanly during (the 4.34 GB Pong failure)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dreamlab.data import (
    DiskBudget,
    EpisodeStore,
    check_collection_fits,
    check_disk_budget,
    estimate_collection_bytes,
    human_bytes,
)
from dreamlab.data import budget as budget_module
from dreamlab.errors import DiskBudgetError


def _probe(steps: int = 50) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "obs": rng.integers(0, 256, size=(steps + 1, 64, 64, 3), dtype=np.uint8),
        "actions": rng.integers(0, 6, size=steps),
        "rewards": np.zeros(steps, np.float32),
        "terminated": np.zeros(steps, bool),
    }


def test_human_bytes_uses_decimal_units_like_max_disk_gb() -> None:
    assert human_bytes(999) == "999 B"
    assert human_bytes(4_340_000_000) == "4.34 GB"


def test_estimate_scales_the_probe_with_a_margin() -> None:
    needed = estimate_collection_bytes(10_000, 100, 1000, 50)
    assert needed >= 50 * 100_000
    assert needed < 50 * 100_000 * 1.5


def test_collection_that_does_not_fit_refuses_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget_module, "free_disk_bytes", lambda path: 1_000_000)
    raw_data = tmp_path / "run" / "raw_data"
    with pytest.raises(DiskBudgetError) as excinfo:
        check_collection_fits(raw_data, _probe(), num_episodes=10_000,
                              expected_steps_per_episode=900, max_disk_gb=None)
    text = str(excinfo.value)
    assert "needs about" in text and "1.00 MB is free" in text
    assert "--vae-img-size 32" in text and "--num-random-rollouts" in text
    assert not raw_data.exists() and list(tmp_path.iterdir()) == []


def test_max_disk_gb_caps_even_a_large_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "free_disk_bytes", lambda path: 10**15)
    with pytest.raises(DiskBudgetError, match="--max-disk-gb 0.001"):
        check_disk_budget(".", needed_bytes=2_000_000, max_disk_gb=0.001)
    check_disk_budget(".", needed_bytes=2_000_000, max_disk_gb=1)
    check_disk_budget(".", needed_bytes=2_000_000, max_disk_gb=None)


def test_fitting_collection_passes_and_returns_the_estimate(tmp_path: Path) -> None:
    needed = check_collection_fits(tmp_path, _probe(), 2, 50, max_disk_gb=1)
    assert 0 < needed < 1e9


def test_budget_stops_collection_cleanly_with_earlier_episodes_intact(tmp_path: Path) -> None:
    store = EpisodeStore(tmp_path, create=True)
    budget = DiskBudget(max_bytes=3 * 1024 * 1024)
    written = 0
    with pytest.raises(DiskBudgetError, match="disk budget reached"):
        for seed in range(100):
            store.append(_probe(20) | {"seed": np.array([seed])}, budget=budget)
            written += 1
    assert 0 < written < 100
    assert budget.used_bytes <= budget.max_bytes
    reopened = EpisodeStore(tmp_path)
    assert len(reopened) == written
    assert len(list((tmp_path / "episodes").iterdir())) == written  # no partial file
    reopened.verify()


def test_budget_watches_free_space(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "free_disk_bytes", lambda path: 100 * 1024 * 1024)
    budget = DiskBudget(path=".", keep_free_bytes=64 * 1024 * 1024)
    assert not budget.would_exceed(10 * 1024 * 1024)
    assert budget.would_exceed(40 * 1024 * 1024)
