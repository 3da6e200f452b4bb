"""The curriculum loop: skipping, resuming, failing softly, and what each env is given."""

from __future__ import annotations

import json

import pytest

from dreamlab.config.worldmodels import ENV_PRESETS
from dreamlab.curriculum.runner import (
    CurriculumOptions,
    build_env_config,
    run_curriculum,
)
from dreamlab.curriculum.spec import CLASSIC, EnvEntry, parse_curriculum
from dreamlab.errors import ConfigError, EnvError
from dreamlab.runtime.stop import StopRule

SMALL = parse_curriculum({"name": "small", "envs": [
    {"env": "CartPole-v1", "target": 475, "obs": "state"},
    {"env": "Acrobot-v1", "target": -100, "obs": "state"},
    {"env": "MountainCar-v0", "target": -110, "obs": "state"},
]})


def _results(out) -> dict:
    return json.loads((out / "curriculum_results.json").read_text())


def test_unavailable_env_is_skipped_with_one_line_and_the_rest_runs(
        tmp_path, monkeypatch, fake_pipeline, dreamlab_log, no_plots) -> None:
    import dreamlab.envs as envs

    def no_atari(env_id: str) -> None:
        if env_id.startswith("ALE/"):
            raise EnvError(f"{env_id} needs the atari extra", "pip install 'dreamlab[atari]'")

    monkeypatch.setattr(envs, "check_available", no_atari)
    result = run_curriculum(CLASSIC, tmp_path / "c")
    assert fake_pipeline.calls == ["CartPole-v1", "Acrobot-v1"]
    assert [r["status"] for r in result.rows] == ["skipped", "skipped", "done", "done"]
    skipped = [r for r in dreamlab_log.records if r.levelname == "WARNING"]
    assert len(skipped) == 2
    assert all("atari" in r.getMessage() and "\n" not in r.getMessage() for r in skipped)
    saved = _results(tmp_path / "c")["envs"]
    assert "pip install 'dreamlab[atari]'" in saved[0]["reason"]
    tex = (tmp_path / "c" / "results" / "results_table.tex").read_text()
    assert "CartPole-v1" in tex and "Pong" not in tex  # only envs that ran are tabled


def test_resume_skips_finished_envs_and_continues_the_interrupted_one(
        tmp_path, fake_pipeline, no_plots) -> None:
    out = tmp_path / "c"
    fake_pipeline.interrupt_on = "Acrobot-v1"
    with pytest.raises(KeyboardInterrupt):
        run_curriculum(SMALL, out)
    state = json.loads((out / "curriculum_state.json").read_text())
    assert [e["status"] for e in state["envs"]] == ["done", "running", "pending"]

    fake_pipeline.interrupt_on = None
    fake_pipeline.calls.clear()
    result = run_curriculum(SMALL, out)
    assert fake_pipeline.calls == ["Acrobot-v1", "MountainCar-v0"]  # CartPole not retrained
    assert [r["status"] for r in result.rows] == ["done", "done", "done"]
    assert (out / "Acrobot-v1_worldmodel" / "evaluation_results.json").exists()

    fake_pipeline.calls.clear()
    run_curriculum(SMALL, out)  # everything finished: nothing runs again
    assert fake_pipeline.calls == []


def test_resume_with_another_mode_is_refused(tmp_path, fake_pipeline, no_plots) -> None:
    run_curriculum(SMALL, tmp_path / "c", CurriculumOptions(mode="quick"))
    with pytest.raises(ConfigError, match="--mode quick"):
        run_curriculum(SMALL, tmp_path / "c", CurriculumOptions(mode="full"))


def test_a_failing_env_is_recorded_and_the_rest_runs(tmp_path, fake_pipeline,
                                                     no_plots) -> None:
    fake_pipeline.fail_on = "Acrobot-v1"
    result = run_curriculum(SMALL, tmp_path / "c")
    assert fake_pipeline.calls == ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"]
    assert [r["status"] for r in result.rows] == ["done", "failed", "done"]
    assert "disk full" in result.rows[1]["reason"]


def test_every_artifact_is_written(tmp_path, fake_pipeline) -> None:
    out = tmp_path / "c"
    run_curriculum(SMALL, out)
    for rel in ("curriculum_results.json", "curriculum_state.json", "results/summary.csv",
                "results/combined.csv", "results/results_table.tex", "results/CartPole-v1.csv",
                "results/MountainCar-v0.csv", "plots/summary.png",
                "plots/fitness_Acrobot-v1.png", "plots/losses_Acrobot-v1.png"):
        assert (out / rel).is_file(), rel
    saved = _results(out)
    assert saved["curriculum"] == "small" and len(saved["envs"]) == 3
    assert saved["wall_time_s"] == pytest.approx(3 * 25.0)


def test_env_config_precedence_and_flag_mapping(tmp_path) -> None:
    entry = EnvEntry("CartPole-v1", 475.0, max_generations=9, obs="state", patience=4,
                     overrides={"cma_pop_size": 6, "vae_epochs": 3})
    options = CurriculumOptions(eval_every=2, episodes_per_eval=3, record_video=True,
                                overrides={"vae_epochs": 5, "seed": 7})
    cfg, stop = build_env_config(entry, options, tmp_path / "run")
    assert (cfg.env, cfg.obs, cfg.checkpoint_dir) == ("CartPole-v1", "state",
                                                      str(tmp_path / "run"))
    assert cfg.cma_pop_size == 6 and cfg.vae_epochs == 5 and cfg.seed == 7  # flags win
    assert cfg.cma_generations == 9 and cfg.eval_every == 2
    assert cfg.eval_rollouts == 3 and cfg.eval_episodes == 3 and cfg.save_videos
    assert stop == StopRule(target_score=475.0, patience=4, max_iterations=9)
    cfg, stop = build_env_config(EnvEntry("CartPole-v1", 475.0, obs="state"),
                                 CurriculumOptions(max_generations=3), tmp_path / "r")
    assert cfg.cma_generations == 3 and stop.max_iterations == 3
    assert stop.patience == 30
    cfg, stop = build_env_config(EnvEntry("CartPole-v1", 475.0), CurriculumOptions(),
                                 tmp_path / "r")
    preset = ENV_PRESETS[("CartPole-v1", "quick")]["cma_generations"]
    assert stop.max_iterations == 0 and cfg.cma_generations == preset  # the env preset


def test_bad_curriculum_flags_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="--patience must be >= 1"):
        CurriculumOptions(patience=0)


def test_visualize_without_a_display_says_so_once_and_keeps_going(
        tmp_path, monkeypatch, fake_pipeline, dreamlab_log, no_plots) -> None:
    import dreamlab.curriculum.runner as runner

    monkeypatch.setattr(runner, "display_available", lambda: False)
    result = run_curriculum(SMALL, tmp_path / "c", CurriculumOptions(visualize=True))
    lines = [r.getMessage() for r in dreamlab_log.records if "display" in r.getMessage()]
    assert len(lines) == 1 and "no display" in lines[0]
    assert result.count("done") == 3


def test_an_entry_names_its_algorithm_and_the_report_reads_its_records(tmp_path) -> None:
    """`algo: ppo` in a curriculum trains PPO through the algorithm table with the stop
    rule; the report's row and plots come from what PPO records (issue 10, item 6)."""
    spec = parse_curriculum({"name": "mixed", "envs": [
        {"env": "CartPole-v1", "algo": "ppo", "obs": "state", "target": 475,
         "overrides": {"total_steps": 2048, "num_envs": 4, "num_steps": 64,
                       "batch_size": 128, "num_epochs": 2}},
    ]})
    assert spec.entries[0].run_dir_name == "CartPole-v1_ppo"
    result = run_curriculum(spec, tmp_path / "c", CurriculumOptions(episodes_per_eval=3))
    row = result.rows[0]
    assert row["algo"] == "ppo" and row["status"] == "done" and row["episodes"] == 3
    assert (tmp_path / "c" / "plots" / "returns_CartPole-v1.png").exists()


def test_an_unknown_algo_or_a_foreign_override_is_one_line() -> None:
    with pytest.raises(ConfigError, match="unknown algo 'sac'"):
        parse_curriculum({"envs": [{"env": "CartPole-v1", "algo": "sac", "target": 1}]})
    with pytest.raises(ConfigError, match="unknown override 'cma_pop_size'"):
        parse_curriculum({"envs": [{"env": "CartPole-v1", "algo": "ppo", "target": 1,
                                    "overrides": {"cma_pop_size": 4}}]})
