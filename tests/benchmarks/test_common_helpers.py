"""benchmarks/_common.py's helpers: finished_runs_parser, the shared command line of the
benchmarks that replay finished Rocket League hours (run dirs, a game count under the
script's own flag, --name), and us_per_step_alternating, the cost benchmarks' timer."""

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def common(benchmark_script):
    return benchmark_script("_common")


def test_run_dirs_count_and_name(common) -> None:
    args = common.finished_runs_parser("Doc line.\nmore").parse_args(
        ["runs/a", "runs/b", "--episodes", "30", "--name", "out"])
    assert args.run_dirs == [Path("runs/a"), Path("runs/b")]
    assert (args.episodes, args.name) == (30, "out")
    kick = common.finished_runs_parser(None, "--games", 40, "kickoffs per run")
    assert kick.parse_args(["runs/a", "--name", "k"]).games == 40


def test_name_and_a_run_are_required(common) -> None:
    parser = common.finished_runs_parser("Doc.")
    with pytest.raises(SystemExit):
        parser.parse_args(["runs/a"])          # no --name: the JSON would have no name
    with pytest.raises(SystemExit):
        parser.parse_args(["--name", "out"])   # no run to replay


def test_alternating_rounds_interleave_and_time_per_step(common, monkeypatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(common.time, "perf_counter", lambda: clock[0])
    order: list[str] = []

    def run_round(label: str) -> None:   # A's round takes 2 s, B's 1 s, on the fake clock
        order.append(label)
        clock[0] += {"A": 2.0, "B": 1.0}[label]

    us = common.us_per_step_alternating(["A", "B"], run_round, steps=1000, rounds=2)
    assert order == ["A", "B", "A", "B"]
    assert us == {"A": 2000.0, "B": 1000.0}
