"""A stand-in for the World Models pipeline, so curriculum logic is tested in seconds."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dreamlab.errors import DiskBudgetError
from dreamlab.runtime.stop import StopRule


def _load_fake_runs() -> Any:
    """tests/report/fake_runs.py by path: pytest runs with --import-mode=importlib, so
    one test package cannot import another by name."""
    path = Path(__file__).resolve().parents[1] / "report" / "fake_runs.py"
    spec = importlib.util.spec_from_file_location("dreamlab_tests_fake_runs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


write_fake_run = _load_fake_runs().write_fake_run


class FakePipeline:
    """Writes a finished run dir (as the real pipeline would) instead of training.

    `interrupt_on` cuts the named env off mid-way (a partial run dir, then Ctrl-C);
    `fail_on` raises a user error there, as a full disk would.
    """

    calls: list[str] = []
    stops: dict[str, StopRule] = {}
    interrupt_on: str | None = None
    fail_on: str | None = None

    def __init__(self, cfg: Any, stop: StopRule | None = None) -> None:
        self.cfg = cfg
        self.stop = stop or StopRule()

    def run(self) -> list[dict[str, Any]]:
        env, run_dir = self.cfg.env, Path(self.cfg.checkpoint_dir)
        FakePipeline.calls.append(env)
        FakePipeline.stops[env] = self.stop
        if env == FakePipeline.fail_on:
            raise DiskBudgetError("disk full while writing vae.pt", "free some space")
        if env == FakePipeline.interrupt_on:
            write_fake_run(run_dir, env, eval_done=False)
            raise KeyboardInterrupt
        write_fake_run(run_dir, env, obs=self.cfg.obs)
        return []


@pytest.fixture
def fake_pipeline(monkeypatch: pytest.MonkeyPatch) -> type[FakePipeline]:
    from dreamlab.worldmodels import pipeline

    monkeypatch.setattr(FakePipeline, "calls", [])
    monkeypatch.setattr(FakePipeline, "stops", {})
    monkeypatch.setattr(FakePipeline, "interrupt_on", None)
    monkeypatch.setattr(FakePipeline, "fail_on", None)
    monkeypatch.setattr(pipeline, "Pipeline", FakePipeline)
    return FakePipeline


@pytest.fixture
def dreamlab_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog for the "dreamlab" logger, which the CLI sets not to propagate."""
    logger = logging.getLogger("dreamlab")
    caplog.set_level(logging.INFO, logger="dreamlab")
    attach = not logger.propagate  # else the root handler already sees every record
    if attach:
        logger.addHandler(caplog.handler)
    yield caplog
    if attach:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def no_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip drawing PNGs in tests about curriculum logic (plots have their own tests, and
    matplotlib costs seconds per figure on a loaded 2-core CPU)."""
    from dreamlab.report import artifacts

    monkeypatch.setattr(artifacts, "plot_run", lambda history, row, out_dir: [])
    monkeypatch.setattr(artifacts, "plot_summary", lambda rows, path, title="": path)
