"""make_env: pixel conventions, the CartPole follow-crop, seeding, caps, vector envs."""

import numpy as np
import pytest

from dreamlab.envs import factory, make_env, make_vector_env
from dreamlab.errors import EnvError

POLE = np.array([202, 152, 101])  # the pole's colour in Gymnasium's CartPole render


def _pole_pixels(frame: np.ndarray) -> int:
    """Pixels close to the pole colour (resizing blends its edges)."""
    return int((np.abs(frame.astype(int) - POLE).sum(axis=2) < 60).sum())


@pytest.mark.parametrize("size", [32, 64])
def test_cartpole_pixels_are_uint8_and_change(size: int) -> None:
    env = make_env("CartPole-v1", obs="pixels", img_size=size, seed=0)
    first, _ = env.reset()
    assert env.observation_space.shape == (size, size, 3)
    frames = [first]
    for _ in range(8):
        frames.append(env.step(1)[0])
    for frame in frames:
        assert frame.dtype == np.uint8 and frame.shape == (size, size, 3)
    assert not np.array_equal(frames[0], frames[-1])
    env.close()


def test_follow_crop_keeps_pole_and_tracks_cart() -> None:
    """Across whole random episodes the pole stays in view, wide enough for a VAE to see.

    The bottom strip (track minimap) shows the cart moving even though the window
    follows it.
    """
    env = make_env("CartPole-v1", obs="pixels", img_size=64, seed=1)
    counts, strips = [], []
    for episode in range(3):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            counts.append(_pole_pixels(obs))
            strips.append(obs[-8:].copy())
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated
    assert len(counts) > 20
    assert min(counts) >= 60  # a full-frame resize leaves 7-18 such pixels; the crop ~200
    dark_cols = [np.flatnonzero(s.max(axis=(0, 2)) < 100).mean() for s in strips]
    assert max(dark_cols) - min(dark_cols) >= 1.0
    env.close()


def test_cartpole_raster_draws_the_pygame_picture() -> None:
    """The state-drawn frame equals pygame's render + follow-crop to within edge pixels,
    over the whole range the episode allows (cart at the screen edge, pole at the
    termination angle); the frames make_env returns are the raster's."""
    import gymnasium as gym

    from dreamlab.envs.cartpole import CartPoleFollowCrop, CartPoleRaster

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    crop, raster = CartPoleFollowCrop(64), CartPoleRaster(64)
    rng = np.random.default_rng(0)
    diffs = []
    for x, theta in [(0.0, 0.0), (2.39, 0.2), (-2.39, -0.2)] + [
            (rng.uniform(-2.4, 2.4), rng.uniform(-0.21, 0.21)) for _ in range(40)]:
        state = np.array([x, 0.0, theta, 0.0])
        env.unwrapped.state = state
        ref = crop(env.render()).astype(int)
        mine = raster(state.astype(np.float32)).astype(int)
        diffs.append(np.abs(ref - mine))
        assert np.abs(ref - mine).mean() < 2.5, (x, theta)
    assert np.mean([d.mean() for d in diffs]) < 0.8  # measured 0.41 of 255
    env.close()
    made = make_env("CartPole-v1", obs="pixels", img_size=64, seed=3)
    obs, _ = made.reset()
    assert np.array_equal(obs, CartPoleRaster(64)(made.unwrapped.state.astype(np.float32)))
    made.close()


def test_state_obs_shape_and_auto_mode() -> None:
    env = make_env("LunarLander-v2", seed=0)  # old id, auto obs -> state
    obs, _ = env.reset()
    assert obs.shape == (8,)
    env.close()
    with pytest.raises(EnvError):
        make_env("CarRacing-v3", obs="state")


@pytest.mark.parametrize("env_id", ["LunarLander-v3", "CarRacing-v3", "ALE/Pong-v5"])
def test_pixel_envs_create_and_step_at_64(env_id: str) -> None:
    env = make_env(env_id, obs="pixels", img_size=64, seed=0)
    obs, _ = env.reset()
    for _ in range(3):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
    assert obs.dtype == np.uint8 and obs.shape == (64, 64, 3)
    assert obs.flags.writeable  # the episode store and augmentations may write in place
    assert isinstance(float(reward), float)
    env.close()


def test_seed_gives_reproducible_observations() -> None:
    def rollout(seed: int) -> list[np.ndarray]:
        env = make_env("ALE/Pong-v5", seed=seed)
        frames = [env.reset(seed=seed)[0]]
        frames += [env.step(env.action_space.sample())[0] for _ in range(30)]
        env.close()
        return frames

    a, b = rollout(7), rollout(7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    env = make_env("CartPole-v1", seed=3)
    unseeded_reset = env.reset()[0]
    np.testing.assert_array_equal(unseeded_reset, make_env("CartPole-v1").reset(seed=3)[0])


def test_max_episode_steps_truncates_and_frame_skip_sums() -> None:
    env = make_env("CartPole-v1", max_episode_steps=3, frame_skip=2, seed=0)
    env.reset()
    flags = []
    for _ in range(3):
        _, reward, terminated, truncated, _ = env.step(0 if len(flags) % 2 else 1)
        flags.append((terminated, truncated))
        assert reward == 2.0
    assert flags[-1] == (False, True)
    assert flags[0] == (False, False)


def test_vector_env_sync_for_state_obs() -> None:
    venv = make_vector_env("CartPole-v1", num_envs=3, seed=0, mode="auto")
    obs, _ = venv.reset()
    assert type(venv).__name__ == "SyncVectorEnv" and obs.shape == (3, 4)
    obs, *_ = venv.step(venv.action_space.sample())
    assert obs.shape == (3, 4)
    assert not np.array_equal(obs[0], obs[1])  # env i is seeded seed + i
    venv.close()


def test_vector_env_async_for_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering costs ~2 ms a step, so auto puts pixel envs in worker processes."""
    monkeypatch.setattr(factory, "cpu_count", lambda: 2)
    venv = make_vector_env("CartPole-v1", num_envs=2, obs="pixels", img_size=32, seed=0)
    try:
        assert type(venv).__name__ == "AsyncVectorEnv"
        obs, _ = venv.reset()
        obs, *_ = venv.step(venv.action_space.sample())
        assert obs.shape == (2, 32, 32, 3) and obs.dtype == np.uint8
    finally:
        venv.close()
