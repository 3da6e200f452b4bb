"""Action encoding for the MDN-RNN and state normalisation for z."""

import numpy as np
import pytest

from dreamlab.envs import ActionSpec, env_info, normalize_state


def test_discrete_actions_become_one_hot() -> None:
    spec = ActionSpec("discrete", 3)
    out = spec.encode(np.array([0, 2, 1]))
    assert spec.input_dim == 3
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[[0, 2, 1]])
    with pytest.raises(ValueError):
        spec.encode(np.array([3]))


def test_continuous_actions_pass_through_as_float32() -> None:
    spec = ActionSpec("continuous", 3, (-1.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    actions = np.array([[0.5, 1.0, 0.0], [-1.0, 0.2, 0.3]], dtype=np.float64)
    out = spec.encode(actions)
    assert spec.input_dim == 3 and out.shape == (2, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, actions)


def test_state_env_info_and_finite_normalisation() -> None:
    info = env_info("CartPole-v1")
    assert info.obs == "state" and info.obs_shape == (4,)
    assert info.action == ActionSpec("discrete", 2)
    assert info.max_episode_steps == 500
    assert np.all(np.isfinite(info.state_low)) and np.all(np.isfinite(info.state_high))
    z = normalize_state(info, np.array([[2.4, 0.0, -0.21, 0.0]]))
    np.testing.assert_allclose(z, [[1.0, 0.0, -1.0, 0.0]], atol=1e-6)
    assert z.dtype == np.float32


def test_pixel_env_info_reports_image_shape_and_capped_length() -> None:
    info = env_info("CartPole-v1", obs="pixels", img_size=32, max_episode_steps=100, frame_skip=2)
    assert info.obs == "pixels" and info.obs_shape == (32, 32, 3)
    assert info.max_episode_steps == 100
    assert info.state_low is None
    assert info == env_info(
        "CartPole-v1", obs="pixels", img_size=32, max_episode_steps=100, frame_skip=2
    )
