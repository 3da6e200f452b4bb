"""`dreamlab curriculum` and `dreamlab report`, driven through their parsed flags."""

from __future__ import annotations

import argparse
import json

import pytest

from dreamlab.curriculum.commands import parse_sets, register
from dreamlab.errors import ConfigError, DreamlabError
from dreamlab.runtime.stop import StopRule

from .conftest import write_fake_run


def _parse(argv: list[str]) -> tuple[argparse.Namespace, dict]:
    parser = argparse.ArgumentParser(prog="dreamlab")
    handlers = register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv), handlers


def _call(argv: list[str]) -> int:
    args, handlers = _parse(argv)
    return handlers[args.command](args)


def test_flags_and_defaults() -> None:
    args, handlers = _parse(["curriculum"])
    assert set(handlers) == {"curriculum", "report"}
    assert (args.curriculum, args.mode, args.patience) == ("classic", "quick", 30)
    assert args.visualize is False and args.record_video is False
    assert args.checkpoint_dir is None and args.max_generations is None
    args, _ = _parse(["curriculum", "--curriculum", "full", "--visualize", "False",
                      "--record-video", "--max-generations", "100", "--eval-every", "10",
                      "--episodes-per-eval", "3", "--device", "cpu", "--seed", "3"])
    assert args.visualize is False and args.record_video is True
    assert (args.max_generations, args.eval_every, args.episodes_per_eval) == (100, 10, 3)
    args, _ = _parse(["report", "a", "b", "--out", "o"])
    assert args.run_dirs == ["a", "b"] and args.out == "o"


def test_curriculum_command_runs_and_reports(tmp_path, fake_pipeline) -> None:
    spec = tmp_path / "two.yaml"
    spec.write_text("envs:\n  - {env: CartPole-v1, obs: state}\n"
                    "  - {env: Acrobot-v1, obs: state}\n")
    out = tmp_path / "cur"
    code = _call(["curriculum", "--curriculum", str(spec), "--checkpoint-dir", str(out),
                  "--max-generations", "4", "--patience", "2", "--set", "mdnrnn_hidden=16",
                  "--seed", "5"])
    assert code == 0
    assert fake_pipeline.calls == ["CartPole-v1", "Acrobot-v1"]
    assert fake_pipeline.stops["Acrobot-v1"] == StopRule(
        target_score=-100.0, patience=2, max_iterations=4)
    results = json.loads((out / "curriculum_results.json").read_text())
    assert results["curriculum"] == "two" and results["overrides"]["mdnrnn_hidden"] == 16

    # `report` on the curriculum dir rebuilds everything from files, training nothing.
    (out / "results" / "results_table.tex").unlink()
    (out / "plots" / "summary.png").unlink()
    assert _call(["report", str(out)]) == 0
    assert (out / "results" / "results_table.tex").exists()
    assert (out / "plots" / "summary.png").exists()
    assert fake_pipeline.calls == ["CartPole-v1", "Acrobot-v1"]


def test_report_on_single_runs(tmp_path) -> None:
    run = write_fake_run(tmp_path / "CartPole-v1_worldmodel", "CartPole-v1")
    assert _call(["report", str(run)]) == 0  # output goes into the run dir itself
    assert (run / "results" / "results_table.tex").exists()
    assert (run / "plots" / "fitness_CartPole-v1.png").exists()
    other = write_fake_run(tmp_path / "p", "ALE/Pong-v5", obs="pixels")
    out = tmp_path / "report"
    assert _call(["report", str(run), str(other), "--out", str(out)]) == 0
    rows = json.loads((out / "results" / "results.json").read_text())["results"]
    assert [(r["env"], r["target"]) for r in rows] == [("CartPole-v1", 475.0),
                                                       ("ALE/Pong-v5", 18.0)]


def test_report_without_runs_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(DreamlabError, match="no run directories"):
        _call(["report", str(tmp_path)])


def test_malformed_curriculum_is_a_config_error(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("envs:\n  - env: NoSuchEnv-v9\n    target: 1\n")
    with pytest.raises(ConfigError) as info:
        _call(["curriculum", "--curriculum", str(bad), "--checkpoint-dir", str(tmp_path)])
    assert "NoSuchEnv-v9" in str(info.value) and "\n" not in str(info.value)


def test_set_values_are_typed_and_checked() -> None:
    assert parse_sets(["vae_epochs=2", "temperature=1", "amp=false"]) == {
        "vae_epochs": 2, "temperature": 1.0, "amp": False}
    for bad, fragment in (["vae_epochs"], "KEY=VALUE"), (["vae_epoch=2"], "unknown"), (
            ["vae_epochs=x"], "must be int"):
        with pytest.raises(ConfigError, match=fragment):
            parse_sets(bad)
