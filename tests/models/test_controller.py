"""C: batched per-row controllers, action mapping and the checkpoint format."""

from __future__ import annotations

import pytest
import torch

from dreamlab.errors import CheckpointError
from dreamlab.models.controller import (
    ControllerSpec,
    actions_to_m_input,
    controller_act,
    controller_checkpoint,
    controller_from_checkpoint,
    controller_logits,
)

DISCRETE = ControllerSpec(input_dim=5, action_kind="discrete", action_dim=3)
CAR = ControllerSpec(5, "continuous", 3, low=(-1.0, 0.0, 0.0), high=(1.0, 1.0, 1.0))


def test_num_params_linear_and_hidden() -> None:
    assert DISCRETE.num_params == 5 * 3 + 3
    # the paper's CarRacing C: 867 params for z=32, h=256, 3 actions (section 3.2)
    assert ControllerSpec(32 + 256, "continuous", 3, (-1, 0, 0), (1, 1, 1)).num_params == 867
    hidden = ControllerSpec(5, "discrete", 2, hidden=4)
    assert hidden.num_params == 5 * 4 + 4 + 4 * 2 + 2


def test_discrete_actions_are_argmax_indices() -> None:
    g = torch.Generator().manual_seed(0)
    params = torch.randn(7, DISCRETE.num_params, generator=g)
    feats = torch.randn(7, 5, generator=g)
    a = controller_act(params, feats, DISCRETE)
    assert a.shape == (7,) and a.dtype == torch.long
    assert ((a >= 0) & (a < 3)).all()
    one_hot = actions_to_m_input(a, DISCRETE)
    assert one_hot.shape == (7, 3) and torch.equal(one_hot.argmax(1), a)
    assert torch.equal(one_hot.sum(1), torch.ones(7))


def test_continuous_actions_stay_in_bounds() -> None:
    g = torch.Generator().manual_seed(1)
    params = 100 * torch.randn(64, CAR.num_params, generator=g)  # saturate tanh
    a = controller_act(params, torch.randn(64, 5, generator=g), CAR)
    assert a.shape == (64, 3) and a.dtype == torch.float32
    assert (a[:, 0] >= -1).all() and (a[:, 0] <= 1).all()
    assert (a[:, 1:] >= 0).all() and (a[:, 1:] <= 1).all()  # gas and brake in [0, 1]
    assert a[:, 1].min() < 0.01 and a[:, 1].max() > 0.99
    assert torch.equal(actions_to_m_input(a, CAR), a)


@pytest.mark.parametrize("spec", [DISCRETE, CAR, ControllerSpec(5, "discrete", 2, hidden=4)])
def test_each_row_uses_its_own_params(spec: ControllerSpec) -> None:
    g = torch.Generator().manual_seed(2)
    params = torch.randn(6, spec.num_params, generator=g)
    feats = torch.randn(6, 5, generator=g)
    batched = controller_act(params, feats, spec)
    for i in range(6):
        alone = controller_act(params[i : i + 1], feats[i : i + 1], spec)
        torch.testing.assert_close(batched[i : i + 1], alone)
    # same features, different params -> different outputs per row
    same = controller_act(params, feats[:1].expand(6, 5).contiguous(), spec)
    assert len({tuple(torch.atleast_1d(r).tolist()) for r in same}) > 1


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError):
        controller_act(torch.zeros(2, DISCRETE.num_params + 1), torch.zeros(2, 5), DISCRETE)
    with pytest.raises(ValueError):
        controller_act(torch.zeros(2, DISCRETE.num_params), torch.zeros(3, 5), DISCRETE)


def test_checkpoint_round_trip_and_foreign_dicts() -> None:
    params = torch.arange(CAR.num_params, dtype=torch.float64)
    d = controller_checkpoint(params, CAR, fitness=12.5, generation=3, eval_std=1.0)
    assert d["format"] == "dreamlab.controller/1" and d["params"].dtype == torch.float32
    p, spec, meta = controller_from_checkpoint(d)
    assert spec == CAR and torch.equal(p, params.float())
    assert meta["fitness"] == 12.5 and meta["generation"] == 3 and meta["eval_std"] == 1.0
    for bad in ({"format": "dreamlab.vae/1"}, {"params": p}, [1, 2],
                {**d, "params": torch.zeros(3)}):
        with pytest.raises(CheckpointError):
            controller_from_checkpoint(bad)


def test_z_only_controller_reads_z_and_ignores_h() -> None:
    """The V-only ablation: 32*3+3 = 99 params on CarRacing, and h cannot change an action."""
    spec = ControllerSpec(32 + 256, "continuous", 3, (-1, 0, 0), (1, 1, 1), z_dim=32,
                          z_only=True)
    assert spec.num_params == 99 and spec.read_dim == 32
    g = torch.Generator().manual_seed(0)
    params = torch.randn(4, spec.num_params, generator=g)
    feats = torch.randn(4, 288, generator=g)
    other_h = feats.clone()
    other_h[:, 32:] = torch.randn(4, 256, generator=g) * 10
    assert torch.equal(controller_act(params, feats, spec), controller_act(params, other_h, spec))
    other_z = feats.clone()
    other_z[:, :32] += 1.0
    assert not torch.equal(controller_act(params, feats, spec),
                           controller_act(params, other_z, spec))
    p, back, _ = controller_from_checkpoint(controller_checkpoint(params[0], spec, 1.0, 2))
    assert back == spec and back.num_params == 99
    with pytest.raises(ValueError):
        ControllerSpec(8, "discrete", 2, z_only=True)  # z_only without z_dim


def test_standardised_inputs_equal_a_controller_on_standardised_features() -> None:
    mean, std = (0.5, -1.0, 0.0), (0.1, 2.0, 1.0)
    spec = ControllerSpec(3 + 2, "discrete", 4, z_dim=3, z_mean=mean, z_std=std)
    plain = ControllerSpec(3 + 2, "discrete", 4)
    g = torch.Generator().manual_seed(1)
    params = torch.randn(6, spec.num_params, generator=g)
    feats = torch.randn(6, 5, generator=g)
    manual = feats.clone()
    manual[:, :3] = (feats[:, :3] - torch.tensor(mean)) / torch.tensor(std)
    torch.testing.assert_close(controller_logits(params, feats, spec),
                               controller_logits(params, manual, plain))
    _, back, _ = controller_from_checkpoint(controller_checkpoint(params[0], spec, 0.0, 1))
    assert back == spec
    with pytest.raises(ValueError):
        ControllerSpec(5, "discrete", 4, z_dim=3, z_mean=(0.0,), z_std=(1.0,))


def test_standardised_h_equals_a_controller_on_standardised_h() -> None:
    h_mean, h_std = (0.4, -0.2), (0.2, 0.05)
    spec = ControllerSpec(3 + 2, "discrete", 2, z_dim=3, h_mean=h_mean, h_std=h_std)
    plain = ControllerSpec(3 + 2, "discrete", 2)
    g = torch.Generator().manual_seed(2)
    params = torch.randn(4, spec.num_params, generator=g)
    feats = torch.randn(4, 5, generator=g)
    manual = feats.clone()
    manual[:, 3:] = (feats[:, 3:] - torch.tensor(h_mean)) / torch.tensor(h_std)
    torch.testing.assert_close(controller_logits(params, feats, spec),
                               controller_logits(params, manual, plain))
    _, back, _ = controller_from_checkpoint(controller_checkpoint(params[0], spec, 0.0, 1))
    assert back == spec
    for bad in (dict(h_mean=(0.0,), h_std=(1.0,)),  # one entry for two h units
                dict(h_mean=h_mean, h_std=(1.0, 0.0)),  # a zero std
                dict(h_mean=h_mean, h_std=h_std, z_only=True)):  # a C that never reads h
        with pytest.raises(ValueError):
            ControllerSpec(5, "discrete", 2, z_dim=3, **bad)


@pytest.mark.parametrize("hidden", [0, 4])
def test_single_logit_picks_what_two_logits_with_its_difference_pick(hidden: int) -> None:
    one = ControllerSpec(5, "discrete", 2, hidden=hidden, single_logit=True)
    two = ControllerSpec(5, "discrete", 2, hidden=hidden)
    out_in = 5 if hidden == 0 else hidden  # the fan-in of the output layer
    assert two.num_params - one.num_params == out_in + 1  # half the output layer
    g = torch.Generator().manual_seed(3)
    params = torch.randn(64, one.num_params, generator=g)
    feats = torch.randn(64, 5, generator=g)
    # the two-logit C whose action-1 row is the single logit's and whose action-0 row is 0
    head = one.num_params - (out_in + 1)
    w, b = params[:, head:head + out_in], params[:, head + out_in:]
    twin = torch.cat([params[:, :head], torch.stack([torch.zeros_like(w), w], 2)
                      .reshape(64, -1), torch.zeros_like(b), b], 1)
    a = controller_act(params, feats, one)
    assert a.dtype == torch.long and 0 < a.sum() < 64  # both actions occur
    assert torch.equal(a, controller_act(twin, feats, two))
    _, back, _ = controller_from_checkpoint(controller_checkpoint(params[0], one, 0.0, 1))
    assert back == one
    with pytest.raises(ValueError):
        ControllerSpec(5, "discrete", 3, single_logit=True)
