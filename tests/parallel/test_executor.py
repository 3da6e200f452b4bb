"""One executor interface: inline and local processes give the same answers in order."""

from __future__ import annotations

import os
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from dreamlab.errors import ConfigError
from dreamlab.parallel import cpu_count, make_executor
from dreamlab.parallel.executor import InlineExecutor, ProcessExecutor

sys.path.insert(0, str(Path(__file__).parent))  # spawned workers inherit sys.path
import _jobs  # noqa: E402


def test_inline_and_processes_agree_and_keep_job_order() -> None:
    seeds = list(range(10, 22))
    with make_executor("inline", initializer=_jobs.init, initargs=(5,)) as inline:
        expected = [r[:2] for r in inline.map(_jobs.seeded_job, seeds)]
    with make_executor("local", 2, initializer=_jobs.init, initargs=(5,)) as pool:
        assert isinstance(pool, ProcessExecutor)
        mapped = pool.map(_jobs.seeded_job, seeds)
        streamed = list(pool.imap(_jobs.seeded_job, seeds))
        unordered = list(pool.imap_unordered(_jobs.seeded_job, seeds))
    assert [r[:2] for r in mapped] == expected
    assert [r[:2] for r in streamed] == expected
    assert sorted(r[:2] for r in unordered) == sorted(expected)
    assert os.getpid() not in {r[2] for r in mapped}  # really ran elsewhere


def test_a_dead_worker_is_an_error_not_a_hang() -> None:
    with make_executor("local", 2) as pool, pytest.raises(BrokenProcessPool):
        pool.map(_jobs.die, [3, 3])


def test_one_worker_runs_inline_and_bad_kind_is_one_line() -> None:
    assert isinstance(make_executor("local", 1, initializer=_jobs.init, initargs=(0,)),
                      InlineExecutor)
    with pytest.raises(ConfigError, match="--executor"):
        make_executor("cluster", 2)
    assert cpu_count() >= 1
