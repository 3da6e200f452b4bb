"""The whole pipeline on tiny settings: stages, resume, determinism, verification."""

from __future__ import annotations

import json

import pytest
import torch

from dreamlab.config import WorldModelConfig
from dreamlab.errors import IncompatibleRunError, StageInputError
from dreamlab.worldmodels.pipeline import Pipeline

TINY = dict(
    env="CartPole-v1", obs="state", num_random_rollouts=6, collect_workers=1, vae_epochs=1,
    mdnrnn_epochs=1, mdnrnn_hidden=16, mdnrnn_seq_len=8, mdnrnn_batch=4, cma_pop_size=4,
    cma_generations=2, rollouts_per_candidate=2, eval_every=1, eval_rollouts=2,
    eval_episodes=2, dream_max_steps=30, max_episode_steps=60, device="cpu", num_threads=1,
)
TINY_PIXELS = dict(TINY, obs="pixels", vae_img_size=32, z_dim=8, vae_batch=16)


def tiny_cfg(tmp_path, **over) -> WorldModelConfig:
    values = dict(TINY, checkpoint_dir=str(tmp_path / "run"))
    values.update(over)
    return WorldModelConfig(**values)


def _mtimes(run_dir) -> dict[str, int]:
    names = ["vae.pt", "mdnrnn.pt", "controller_best.pt", "evaluation_results.json"]
    return {n: (run_dir / n).stat().st_mtime_ns for n in names if (run_dir / n).exists()}


def test_state_env_runs_every_stage_and_skips_vae(tmp_path) -> None:
    cfg = tiny_cfg(tmp_path)
    rows = Pipeline(cfg).run()
    assert [r["stage"] for r in rows] == ["collect", "vae", "encode", "mdnrnn", "controller",
                                          "eval"]
    run = cfg.run_dir()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["vae"]["status"] == "skipped"
    assert not (run / "vae.pt").exists()
    for name in ("collect", "encode", "mdnrnn", "controller", "eval"):
        assert manifest["stages"][name]["status"] == "done", name
    res = json.loads((run / "evaluation_results.json").read_text())
    assert {"env_id", "episodes", "mean_return", "std_return", "returns"} <= set(res)
    assert len(res["returns"]) == 2
    summary = (run / "pipeline_summary.csv").read_text().splitlines()
    assert summary[0].startswith("stage,status,seconds") and len(summary) == 7
    assert (run / "config.yaml").exists()


def test_pixel_env_runs_every_stage(tmp_path) -> None:
    cfg = WorldModelConfig(**dict(TINY_PIXELS, checkpoint_dir=str(tmp_path / "run")))
    Pipeline(cfg).run()
    manifest = json.loads((cfg.run_dir() / "manifest.json").read_text())
    assert all(s["status"] == "done" for s in manifest["stages"].values())
    assert "sha256" in manifest["stages"]["vae"]["outputs"]["vae.pt"]


def test_rerun_skips_finished_stages_without_retraining(tmp_path) -> None:
    cfg = tiny_cfg(tmp_path)
    Pipeline(cfg).run()
    before = _mtimes(cfg.run_dir())
    rows = Pipeline(cfg).run()
    assert all(r["status"] == "skipped (done)" for r in rows)
    assert _mtimes(cfg.run_dir()) == before


def test_corrupted_output_is_detected_and_rebuilt(tmp_path) -> None:
    cfg = tiny_cfg(tmp_path)
    Pipeline(cfg).run()
    path = cfg.run_dir() / "controller_best.pt"
    path.write_bytes(path.read_bytes()[:10])
    rows = Pipeline(cfg).run()
    status = {r["stage"]: r["status"] for r in rows}
    assert status["collect"] == "skipped (done)"
    assert status["controller"] == "done"
    torch.load(path, weights_only=True)


def test_same_seed_gives_identical_results(tmp_path) -> None:
    a = tiny_cfg(tmp_path / "a")
    b = tiny_cfg(tmp_path / "b")
    Pipeline(a).run()
    Pipeline(b).run()
    ca = torch.load(a.run_dir() / "controller_best.pt", weights_only=True)
    cb = torch.load(b.run_dir() / "controller_best.pt", weights_only=True)
    assert torch.equal(ca["params"], cb["params"])
    ra = json.loads((a.run_dir() / "evaluation_results.json").read_text())
    rb = json.loads((b.run_dir() / "evaluation_results.json").read_text())
    assert ra["returns"] == rb["returns"]
    ma = json.loads((a.run_dir() / "manifest.json").read_text())["stages"]
    mb = json.loads((b.run_dir() / "manifest.json").read_text())["stages"]
    assert ma["mdnrnn"]["metrics"]["final_loss"] == mb["mdnrnn"]["metrics"]["final_loss"]


def test_stage_without_its_inputs_names_the_stage_to_run(tmp_path) -> None:
    cfg = tiny_cfg(tmp_path, stage="mdnrnn")
    with pytest.raises(StageInputError, match="'encode'"):
        Pipeline(cfg).run()


def test_controller_can_be_retrained_on_earlier_v_and_m(tmp_path) -> None:
    cfg = tiny_cfg(tmp_path)
    Pipeline(cfg).run()
    mdn_before = (cfg.run_dir() / "mdnrnn.pt").stat().st_mtime_ns
    again = tiny_cfg(tmp_path, stage="controller,eval", cma_generations=3)
    rows = Pipeline(again).run()
    assert [r["stage"] for r in rows] == ["controller", "eval"]
    assert all(r["status"] == "done" for r in rows)
    assert (cfg.run_dir() / "mdnrnn.pt").stat().st_mtime_ns == mdn_before


def test_collect_cut_off_continues_where_it_stopped(tmp_path, monkeypatch) -> None:
    from dreamlab.data import EpisodeStore

    cfg = tiny_cfg(tmp_path, stage="collect")
    real_append = EpisodeStore.append
    calls = {"n": 0}

    def append_then_die(self, episode, meta=None, budget=None):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # stands in for a kill between two episodes
        return real_append(self, episode, meta, budget)

    monkeypatch.setattr(EpisodeStore, "append", append_then_die)
    with pytest.raises(KeyboardInterrupt):
        Pipeline(cfg).run()
    monkeypatch.setattr(EpisodeStore, "append", real_append)
    Pipeline(cfg).run()
    manifest = json.loads((cfg.run_dir() / "manifest.json").read_text())
    assert manifest["stages"]["collect"]["metrics"]["resumed_from"] == 3
    assert manifest["stages"]["collect"]["metrics"]["episodes"] == 6
    # and the store equals an uninterrupted collection with the same seed
    fresh = tiny_cfg(tmp_path / "fresh", stage="collect")
    Pipeline(fresh).run()
    a, b = EpisodeStore(cfg.run_dir() / "raw_data"), EpisodeStore(fresh.run_dir() / "raw_data")
    for i in range(6):
        assert (a.load(i)["obs"] == b.load(i)["obs"]).all()


def test_run_dir_of_another_env_is_refused(tmp_path) -> None:
    Pipeline(tiny_cfg(tmp_path, stage="collect")).run()
    with pytest.raises(IncompatibleRunError, match="env="):
        Pipeline(tiny_cfg(tmp_path, env="Acrobot-v1", stage="collect")).run()


def test_iterations_collect_with_the_controller_and_refit(tmp_path) -> None:
    """Paper section 5: pass 1 appends C's episodes to raw_data, refits M, retrains C;
    a re-run after completion skips every stage of every pass."""
    from dreamlab.data import EpisodeStore

    cfg = tiny_cfg(tmp_path, iterations=2, iteration_rollouts=3, explore_noise=0.2)
    rows = Pipeline(cfg).run()
    keys = [r["stage"] for r in rows]
    assert keys == ["collect", "vae", "encode", "mdnrnn", "controller", "collect@1", "vae@1",
                    "encode@1", "mdnrnn@1", "controller@1", "eval"]
    run = cfg.run_dir()
    store = EpisodeStore(run / "raw_data")
    assert len(store) == 6 + 3
    assert [store.episode_meta(i).get("iteration", 0) for i in range(len(store))] == \
        [0] * 6 + [1] * 3
    assert len(EpisodeStore(run / "latents")) == 9  # M of pass 1 learnt on all data
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["mdnrnn@1"]["fingerprint"]["iteration"] == 1
    assert manifest["stages"]["collect@1"]["metrics"]["iteration_episodes"] == 3
    # each pass keeps its own evaluation snapshots; the final eval reports the last pass's
    snaps = sorted(p.name for p in (run / "snapshots").glob("*.json"))
    assert any(n.startswith("gen_") for n in snaps) and any(n.startswith("pass1_") for n in snaps)
    result = json.loads((run / "evaluation_results.json").read_text())
    pass1 = json.loads(sorted((run / "snapshots").glob("pass1_gen_*.json"))[-1].read_text())
    assert result["controller_evals"][-1]["eval_mean"] == pass1["eval_mean"]
    before = _mtimes(run)
    again = Pipeline(cfg).run()
    assert all(r["status"] == "skipped (done)" for r in again)
    assert _mtimes(run) == before


def test_every_config_field_is_a_stage_dependency_or_run_only() -> None:
    """One table (issue 10): a field missing from every stage row would let a changed
    value skip the retrain it needs, silently."""
    from dataclasses import fields

    from dreamlab.config import config_hash_fields
    from dreamlab.worldmodels.pipeline import RUN_ONLY_FIELDS, stage_table

    used = set(config_hash_fields()) | set(RUN_ONLY_FIELDS)
    for stage in stage_table().values():
        used |= set(stage.fields) | set(stage.pass_fields)
    missing = [f.name for f in fields(WorldModelConfig) if f.name not in used]
    assert not missing, f"fields in no stage row and not run-only: {missing}"


def test_a_changed_dependency_reruns_its_stage_and_marks_later_ones_stale(tmp_path) -> None:
    from dreamlab.worldmodels.pipeline import stage_fingerprint

    base = WorldModelConfig(env="CartPole-v1", obs="state")
    changed = WorldModelConfig(env="CartPole-v1", obs="state", data_ram_gb=0.5)
    assert stage_fingerprint(base, "mdnrnn") != stage_fingerprint(changed, "mdnrnn")
    assert stage_fingerprint(base, "controller") == stage_fingerprint(changed, "controller")
    # a late field at its default leaves old runs' fingerprints as they were
    assert "loader_workers" not in stage_fingerprint(base, "vae")


def test_dreamlab_eval_evaluates_a_finished_run_again(tmp_path) -> None:
    """`dreamlab eval RUN_DIR` (issue 10): the common schema, the run's config kept."""
    from dreamlab.cli import main

    cfg = tiny_cfg(tmp_path)
    Pipeline(cfg).run()
    run = cfg.run_dir()
    config_before = (run / "config.yaml").read_text()
    assert main(["eval", str(run), "--episodes", "3"]) == 0
    res = json.loads((run / "evaluation_results.json").read_text())
    assert res["algo"] == "worldmodels" and res["episodes"] == 3 and len(res["returns"]) == 3
    assert {"env_steps", "wall_s"} <= set(res)
    assert (run / "config.yaml").read_text() == config_before
    assert json.loads((run / "manifest.json").read_text())["algo"] == "worldmodels"
