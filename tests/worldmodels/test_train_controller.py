"""Stage `controller`: CMA-ES learns, resumes exactly, is deterministic, stops early."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dreamlab.config import WorldModelConfig
from dreamlab.data import EpisodeStore, make_latent_episode
from dreamlab.envs import env_info
from dreamlab.errors import ConfigError
from dreamlab.models.mdnrnn import MDNRNN
from dreamlab.runtime.atomic import atomic_torch_save, safe_torch_load
from dreamlab.runtime.device import setup_device
from dreamlab.runtime.logger import RunLogger
from dreamlab.runtime.stop import StopRule
from dreamlab.worldmodels.agent import load_controller
from dreamlab.worldmodels.cmaes import CMAES
from dreamlab.worldmodels.context import RunPaths, StageContext
from dreamlab.worldmodels.pipeline import Pipeline
from dreamlab.worldmodels.train_controller import STATE_FILE, run_train_controller

INFO = env_info("CartPole-v1", obs="state")


def make_run(root: Path, latents: bool = True) -> RunPaths:
    """A tiny CartPole-state run dir: an untrained M (z = normalised state) and latents."""
    paths = RunPaths(root)
    torch.manual_seed(0)
    atomic_torch_save(paths.mdnrnn, MDNRNN(4, 2, hidden=4, n_gaussians=2).to_checkpoint())
    if latents:
        store = EpisodeStore(paths.latents, create=True)
        rng = np.random.default_rng(0)
        for t in (8, 12, 20):
            store.append(make_latent_episode(
                rng.uniform(-0.1, 0.1, (t + 1, 4)), np.full((t + 1, 4), -20.0),
                np.eye(2)[rng.integers(0, 2, t)], np.ones(t), np.arange(t) == t - 1))
    return paths


def make_ctx(paths: RunPaths, stop: StopRule | None = None, **cfg) -> StageContext:
    base = dict(env="CartPole-v1", obs="state", cma_pop_size=8, cma_generations=4,
                rollouts_per_candidate=2, eval_every=2, eval_rollouts=4, train_in_dream=False,
                collect_workers=1, seed=7, max_episode_steps=50)
    base.update(cfg)
    return StageContext(cfg=WorldModelConfig(**base), paths=paths,
                        logger=RunLogger(paths.logs, enabled=False),
                        device=setup_device("cpu", num_threads=1), env_info=INFO,
                        stop=stop or StopRule())


def fitness_history(paths: RunPaths) -> np.ndarray:
    return safe_torch_load(paths.cma_state / STATE_FILE)["cma"]["fitness"].numpy()


def test_real_env_cmaes_beats_random_cartpole(tmp_path: Path) -> None:
    paths = make_run(tmp_path)
    m = run_train_controller(make_ctx(paths, cma_generations=6, eval_rollouts=8,
                                      max_episode_steps=200))
    # x0 = 0 pushes left every step (argmax tie): ~9 steps. A linear C on the state
    # balances far longer once CMA-ES has had a few generations.
    assert m["generations"] == 6 and m["best_eval_mean"] > 100
    assert m["env_steps"] > 0 and m["best_fitness"] >= m["best_eval_mean"] * 0.5
    params, spec, meta = load_controller(paths.controller)
    assert spec.num_params == params.numel() == (4 + 4) * 2 + 2
    assert meta["eval_mean"] == m["best_eval_mean"] and meta["env_id"] == "CartPole-v1"
    assert (paths.plots / "fitness.png").stat().st_size > 1000
    snaps = sorted(p.name for p in paths.snapshots.glob("gen_*.json"))
    assert snaps == ["gen_0002.json", "gen_0004.json", "gen_0006.json"]
    snap = json.loads((paths.snapshots / "gen_0006.json").read_text())
    for key in ("generation", "fitness_best", "fitness_mean", "eval_mean", "eval_std",
                "wall_time_s"):
        assert key in snap


def test_cmaes_state_replays_to_the_same_next_generation() -> None:
    def sphere(x: np.ndarray) -> np.ndarray:
        return ((x - 1) ** 2).sum(axis=1)

    a = CMAES(dim=10, sigma0=0.3, popsize=6, seed=3)
    for _ in range(5):
        x = a.ask()
        np.random.rand(7)  # someone else using the global RNG must not matter
        a.tell(sphere(x))
    b = CMAES.from_state(a.state_dict())
    assert b.generation == 5 and np.array_equal(a.ask(), b.ask())
    assert np.array_equal(a.ask(), a.ask())  # ask without tell repeats itself


def test_resume_after_interruption_matches_uninterrupted(tmp_path: Path) -> None:
    whole = make_run(tmp_path / "whole")
    run_train_controller(make_ctx(whole, cma_generations=5, eval_every=5))
    cut = make_run(tmp_path / "cut")
    run_train_controller(make_ctx(cut, cma_generations=2, eval_every=5))  # "killed" at 2
    assert fitness_history(cut).shape[0] == 2
    m = run_train_controller(make_ctx(cut, cma_generations=5, eval_every=5))
    assert m["generations"] == 5
    np.testing.assert_array_equal(fitness_history(cut), fitness_history(whole))


def test_same_seed_same_history_and_new_models_restart(tmp_path: Path) -> None:
    a, b = make_run(tmp_path / "a"), make_run(tmp_path / "b")
    run_train_controller(make_ctx(a, cma_generations=3))
    run_train_controller(make_ctx(b, cma_generations=3))
    np.testing.assert_array_equal(fitness_history(a), fitness_history(b))
    torch.manual_seed(1)  # a retrained M makes the saved CMA-ES state stale
    atomic_torch_save(b.mdnrnn, MDNRNN(4, 2, hidden=4, n_gaussians=2).to_checkpoint())
    m = run_train_controller(make_ctx(b, cma_generations=1))
    assert m["generations"] == 1


@pytest.mark.parametrize("stop", [StopRule(target_score=1.0), StopRule(max_iterations=2),
                                  StopRule(patience=2)])
def test_early_stop_rule(tmp_path: Path, stop: StopRule) -> None:
    paths = make_run(tmp_path)
    m = run_train_controller(make_ctx(paths, stop=stop, cma_generations=20, eval_every=2))
    assert m["generations"] < 20
    if stop.max_iterations:
        assert m["generations"] == 2
    if stop.target_score is not None:
        assert m["generations"] == 2 and "stopped_early" in m


def test_cma_target_flag_stops_like_the_stop_rule(tmp_path: Path) -> None:
    """--cma-target is the stop rule's target for runs outside a curriculum; a curriculum's
    own target wins."""
    paths = make_run(tmp_path / "flag")
    m = run_train_controller(make_ctx(paths, cma_generations=20, eval_every=2, cma_target=1.0))
    assert m["generations"] == 2 and "stopped_early" in m
    paths = make_run(tmp_path / "rule")
    m = run_train_controller(make_ctx(paths, StopRule(target_score=1e9), cma_generations=4,
                                      eval_every=2, cma_target=1.0))
    assert m["generations"] == 4


def test_dream_training_with_real_finetune(tmp_path: Path) -> None:
    paths = make_run(tmp_path)
    m = run_train_controller(make_ctx(paths, train_in_dream=True, cma_generations=3,
                                      rollouts_per_candidate=4, real_finetune_s=0.05,
                                      dream_max_steps=50))
    assert m["generations"] >= 4  # 3 in the dream, at least 1 fine-tuning in the real env
    assert 0 < m["dream_score"] <= 50 and m["dream_steps"] > 0
    phases = safe_torch_load(paths.cma_state / STATE_FILE)["trainer"]["phase"]
    assert phases[:3] == [False] * 3 and all(phases[3:])


def test_time_budget_stops_training_and_still_saves_the_best(tmp_path: Path) -> None:
    paths = make_run(tmp_path)
    m = run_train_controller(make_ctx(paths, cma_generations=500, cma_max_minutes=1e-4,
                                      eval_every=100))
    assert 1 <= m["generations"] < 500 and "time budget" in m["stopped_early"]
    assert paths.controller.exists() and m["best_eval_generation"] == m["generations"]


def test_eval_point_mean_scores_the_cma_mean_and_z_only_keeps_c_small(tmp_path: Path) -> None:
    paths = make_run(tmp_path)
    m = run_train_controller(make_ctx(paths, cma_generations=6, eval_every=6, eval_rollouts=8,
                                      max_episode_steps=200, eval_point="mean",
                                      controller_inputs="z", standardize_z=True))
    params, spec, meta = load_controller(paths.controller)
    assert spec.z_only and spec.num_params == params.numel() == 4 * 2 + 2
    assert len(spec.z_mean) == 4 and min(spec.z_std) > 0  # from make_run's latent store
    # one evaluation, after generation 6: it scored (and kept) CMA-ES's mean, no candidate
    state = safe_torch_load(paths.cma_state / STATE_FILE)
    assert meta["generation"] == 6
    np.testing.assert_allclose(params.numpy(), state["cma"]["mean"].numpy(), rtol=1e-6)
    assert m["best_eval_mean"] > 50  # a linear C on CartPole's state balances quickly


def test_standardize_h_reads_m_hidden_state_moments(tmp_path: Path) -> None:
    paths = make_run(tmp_path)
    run_train_controller(make_ctx(paths, cma_generations=2, eval_every=2, eval_rollouts=2,
                                  max_episode_steps=50, standardize_h=True))
    _, spec, _ = load_controller(paths.controller)
    assert not spec.z_mean and len(spec.h_mean) == len(spec.h_std) == spec.input_dim - 4
    assert min(spec.h_std) > 0 and max(abs(m) for m in spec.h_mean) > 0


def test_single_logit_c_learns_cartpole_and_needs_two_actions(tmp_path: Path) -> None:
    paths = make_run(tmp_path)
    m = run_train_controller(make_ctx(paths, cma_generations=10, eval_rollouts=8,
                                      max_episode_steps=200, single_logit=True))
    _, spec, _ = load_controller(paths.controller)
    assert spec.single_logit and spec.num_params == (4 + 4) + 1
    assert m["best_eval_mean"] > 100  # as the two-logit C above (seeds 1-3, 7: 187-200)
    # three actions: refused before any stage runs or anything is written
    wide = WorldModelConfig(env="Acrobot-v1", obs="state", single_logit=True,
                            checkpoint_dir=str(tmp_path / "wide"))
    with pytest.raises(ConfigError, match="two discrete actions"):
        Pipeline(wide).preflight()
    assert not (tmp_path / "wide").exists()


def test_training_leaves_the_matplotlib_backend_alone(tmp_path: Path) -> None:
    """A stage that switched the global backend to Agg made every later `--visualize`
    window fail silently ("FigureCanvasAgg is non-interactive"), issue 10."""
    import matplotlib

    old = matplotlib.get_backend()
    matplotlib.use("svg")  # stands in for an interactive backend a user chose
    try:
        paths = make_run(tmp_path)
        run_train_controller(make_ctx(paths, cma_generations=2, eval_every=1))
        assert (paths.plots / "fitness.png").exists()
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(old)
