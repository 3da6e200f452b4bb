"""_common.finished_runs_parser: the shared command line of the benchmarks that replay
finished Rocket League hours (run dirs, a game count under the script's own flag, --name)."""

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
