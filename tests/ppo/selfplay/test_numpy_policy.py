"""The numpy copy of an ActorCritic MLP acts with the same numbers as torch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dreamlab.models.ppo_policy import ActionLayout, ActorCritic  # noqa: E402
from dreamlab.ppo.selfplay.numpy_policy import NumpyPolicy, supports  # noqa: E402


def _net(kind: str, activation: str) -> ActorCritic:
    torch.manual_seed(0)
    layout = ActionLayout("discrete", (5,)) if kind == "discrete" else \
        ActionLayout("continuous", (3,))
    net = ActorCritic((7,), layout, "mlp", 16, 2, activation)
    with torch.no_grad():  # a head with real spread, not the 0.01-gain start
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return net


@pytest.mark.parametrize("kind", ["discrete", "continuous"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_log_prob_and_value_equal_torch(kind: str, activation: str) -> None:
    net = _net(kind, activation)
    fast = NumpyPolicy(net, np.random.default_rng(0))
    obs = np.random.default_rng(1).standard_normal((64, 7)).astype(np.float32)
    action, logp, value = fast.act(obs)
    with torch.inference_mode():
        t_logp, _, t_value = net.evaluate(torch.from_numpy(obs), torch.from_numpy(action))
    np.testing.assert_allclose(logp, t_logp.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(value, t_value.numpy(), rtol=1e-4, atol=1e-5)
    assert fast.sample(obs).shape == action.shape


def test_discrete_samples_follow_the_softmax() -> None:
    net = _net("discrete", "tanh")
    fast = NumpyPolicy(net, np.random.default_rng(2))
    obs = np.zeros((20_000, 7), dtype=np.float32)
    freq = np.bincount(fast.sample(obs), minlength=5) / len(obs)
    with torch.inference_mode():
        probs = torch.softmax(net.actor(torch.from_numpy(obs[:1])), -1)[0].numpy()
    np.testing.assert_allclose(freq, probs, atol=0.015)


def test_refresh_follows_new_weights_and_cnn_is_refused() -> None:
    net = _net("discrete", "relu")
    fast = NumpyPolicy(net, np.random.default_rng(0))
    obs = np.ones((4, 7), dtype=np.float32)
    before = fast.value(obs)
    with torch.no_grad():
        net.critic[-1].bias.add_(1.0)
    fast.refresh(net)
    np.testing.assert_allclose(fast.value(obs), before + 1.0, rtol=1e-5)
    cnn = ActorCritic((4, 84, 84), ActionLayout("discrete", (3,)), "cnn")
    assert not supports(cnn)
    with pytest.raises(ValueError):
        NumpyPolicy(cnn, np.random.default_rng(0))
