"""Gymnasium's own env checker, grayscale and the copy-free frame stack (issue 10, item 5/8)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from dreamlab.envs import make_env
from dreamlab.envs.registry import extra_installed
from dreamlab.envs.wrappers import FrameStack
from dreamlab.errors import ConfigError


@pytest.mark.parametrize("kwargs", [
    dict(env_id="CartPole-v1", obs="state", seed=1),
    dict(env_id="CartPole-v1", obs="pixels", img_size=32, seed=1),
    dict(env_id="Pendulum-v1", obs="state", frame_skip=2, max_episode_steps=20, seed=2),
    dict(env_id="CartPole-v1", obs="pixels", img_size=32, grayscale=True, seed=3),
])
def test_make_env_passes_gymnasiums_check_env(kwargs: dict) -> None:
    env = make_env(**kwargs)
    check_env(env, skip_render_check=True)
    rebuilt = gym.make(env.spec)  # the recorded wrappers rebuild the same env
    assert rebuilt.observation_space == env.observation_space
    a, _ = env.reset(seed=5)
    b, _ = rebuilt.reset(seed=5)
    assert np.array_equal(a, b)


def test_frame_stack_fails_only_checkers_shared_memory_rule() -> None:
    """By design, consecutive stacks are overlapping read-only views of one strip (no
    copies), which is the one rule of check_env they break."""
    env = make_env("CartPole-v1", obs="pixels", img_size=32, frame_stack=4, seed=3)
    with pytest.raises(AssertionError, match="share an object"):
        check_env(env, skip_render_check=True)


def test_grayscale_frame_stack_shapes_and_first_frames() -> None:
    env = make_env("CartPole-v1", obs="pixels", img_size=32, grayscale=True, frame_stack=4,
                   seed=0)
    obs, _ = env.reset()
    assert obs.shape == (4, 32, 32) and obs.dtype == np.uint8
    assert all(np.array_equal(obs[0], obs[i]) for i in range(4))  # k copies at reset


def test_grayscale_of_state_obs_is_an_error() -> None:
    with pytest.raises(ConfigError, match="pixel"):
        make_env("CartPole-v1", obs="state", grayscale=True)


class _Counter(gym.Env):
    """Observation t is the number t, so a stack shows which frames it holds."""

    observation_space = gym.spaces.Box(0, 10_000, (2,), np.int64)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.full(2, self.t), {}

    def step(self, action):
        self.t += 1
        return np.full(2, self.t), 0.0, False, False, {}


def test_frame_stack_holds_the_last_k_and_never_changes_a_returned_obs() -> None:
    env = FrameStack(_Counter(), k=3, strip_frames=4)  # small strip: several reallocations
    first, _ = env.reset()
    kept = [first]
    for _ in range(20):
        obs, *_ = env.step(0)
        kept.append(obs)
    for t, obs in enumerate(kept):
        expected = [max(t - 2, 0), max(t - 1, 0), t]
        assert obs[:, 0].tolist() == expected, t  # old observations are untouched
        assert not obs.flags.writeable
    assert env.latest_frame.tolist() == [20, 20]


def test_frame_stack_writes_each_frame_once_not_k_times() -> None:
    env = FrameStack(_Counter(), k=4, strip_frames=64)
    env.reset()
    strips = set()
    for _ in range(50):
        obs, *_ = env.step(0)
        strips.add(id(obs.base))  # views share one strip until it fills
    assert len(strips) == 1


@pytest.mark.skipif(not extra_installed("dmc"), reason="the dmc extra is not installed")
def test_deepmind_control_through_shimmy_from_state_and_pixels() -> None:
    state = make_env("dm_control/cartpole-balance-v0", obs="state", seed=0)
    obs, _ = state.reset()
    assert obs.ndim == 1 and obs.shape == (5,)
    pixels = make_env("dm_control/cartpole-balance-v0", obs="pixels", img_size=32, seed=0)
    frame, _ = pixels.reset()
    assert frame.shape == (32, 32, 3) and frame.dtype == np.uint8
    frame, reward, *_ = pixels.step(pixels.action_space.sample())
    assert 0.0 <= reward <= 1.0


@pytest.mark.skipif(not extra_installed("dmc"), reason="the dmc extra is not installed")
def test_deepmind_control_pixels_are_camera_zero_drawn_at_the_frame_size() -> None:
    # Camera 0 frames the cart: its orange body covers ~1.1% of a 64x64 frame, against
    # ~0.25% from MuJoCo's free camera squashed down from 320x240.
    env = make_env("dm_control/cartpole-balance-v0", obs="pixels", img_size=64, seed=0)
    frame, _ = env.reset(seed=0)
    assert env.unwrapped.render().shape == (64, 64, 3)  # drawn at size, not resized
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    cart = (r > 150) & (b < 120) & (r - b > 80)
    assert cart.mean() > 0.005
