"""The real-env agent: V+M+C batched over env slots, deterministic, same with workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dreamlab.envs import env_info, make_env
from dreamlab.models.controller import ControllerSpec
from dreamlab.models.mdnrnn import MDNRNN
from dreamlab.models.vae import ConvVAE
from dreamlab.runtime.atomic import atomic_torch_save
from dreamlab.worldmodels.agent import (
    PolicySetup,
    RealEvaluator,
    WorldModelPolicy,
    real_fitness,
    run_episodes,
)

STATE = env_info("CartPole-v1", obs="state")
SPEC = ControllerSpec(4 + 4, "discrete", 2)


def _policy() -> WorldModelPolicy:
    torch.manual_seed(0)
    return WorldModelPolicy(SPEC, MDNRNN(4, 2, 4, 2).eval(), None, STATE)


def _params(n: int) -> torch.Tensor:
    return torch.randn(n, SPEC.num_params, generator=torch.Generator().manual_seed(3))


def test_episodes_do_not_depend_on_slot_count() -> None:
    params, seeds = _params(7), list(range(100, 107))
    results = []
    for k in (1, 3, 7):
        envs = [make_env("CartPole-v1", obs="state") for _ in range(k)]
        results.append(run_episodes(_policy(), envs, params, seeds))
    for other in results[1:]:
        np.testing.assert_array_equal(other.returns, results[0].returns)
        np.testing.assert_array_equal(other.lengths, results[0].lengths)
    assert results[0].returns.std() > 0  # the rows really are different controllers
    assert results[0].env_steps == results[0].lengths.sum()


@pytest.mark.slow  # starting worker processes costs seconds (torch import)
def test_worker_processes_match_in_process(tmp_path: Path) -> None:
    torch.manual_seed(0)
    atomic_torch_save(tmp_path / "mdnrnn.pt", MDNRNN(4, 2, 4, 2).to_checkpoint())
    setup = PolicySetup(STATE, SPEC, str(tmp_path / "mdnrnn.pt"), None, envs_per_worker=3)
    params, seeds = _params(6), [11, 12, 13, 14, 15, 16]
    with RealEvaluator(setup, 1) as one:
        a = one.run(params, seeds)
    with RealEvaluator(setup, 2) as two:
        b = two.run(params, seeds)
    np.testing.assert_array_equal(a.returns, b.returns)
    fit = real_fitness(params[:3], setup, [11, 12], workers=1)
    with RealEvaluator(setup, 1) as one:
        first = one.run(params[[0, 0]], [11, 12]).returns.mean()
    assert fit.shape == (3,) and fit[0] == first


def test_pixel_policy_runs_vae_on_frames() -> None:
    info = env_info("CartPole-v1", obs="pixels", img_size=32)
    torch.manual_seed(0)
    vae = ConvVAE(32, 4, channels=(8, 8, 8)).eval()
    spec = ControllerSpec(4 + 4, "discrete", 2)
    policy = WorldModelPolicy(spec, MDNRNN(4, 2, 4, 2).eval(), vae, info)
    envs = [make_env("CartPole-v1", obs="pixels", img_size=32, render_mode="rgb_array")]
    params = torch.randn(2, spec.num_params)
    out = run_episodes(policy, envs, params, [1, 2], capture=(1,))
    assert (out.lengths > 0).all() and len(out.frames[1]) == out.lengths[1]
    assert out.frames[1][0].shape == (400, 600, 3)  # the native render, for videos


class _NoRewardEnv:
    """An env whose episodes last 100 steps and pay a reward only at steps 10 and 20."""

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict]:
        self.t = 0
        return np.zeros(4, dtype=np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        reward = 1.0 if self.t in (10, 20) else -0.1
        return np.zeros(4, dtype=np.float32), reward, False, self.t >= 100, {}


def test_no_progress_cut_ends_stalled_episodes_and_keeps_their_return() -> None:
    params = _params(2)
    whole = run_episodes(_policy(), [_NoRewardEnv()], params, [0, 1])
    assert whole.lengths.tolist() == [100, 100]
    cut = run_episodes(_policy(), [_NoRewardEnv(), _NoRewardEnv()], params, [0, 1],
                       no_progress_steps=15)
    # rewards at 10 and 20 reset the count; then 15 steps without one end it at 35
    assert cut.lengths.tolist() == [35, 35]
    np.testing.assert_allclose(cut.returns, 2.0 - 0.1 * 33)
