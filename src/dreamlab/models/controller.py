"""C, the controller of World Models (Ha & Schmidhuber 2018, section 2.3).

The paper keeps C deliberately tiny, a single linear layer a_t = W_c [z_t h_t] + b_c, so
that almost all of the agent's capacity sits in V and M and C can be trained by an
evolution strategy (CMA-ES, section 2.3 / 4.3) instead of by gradients. An optional hidden
layer (`hidden > 0`) is offered for tasks where a linear map is not enough.

Everything here is batched over *parameter vectors*: row n of `params` is its own
controller, so a whole CMA-ES population times its rollouts is evaluated in one `einsum`
rather than one small matmul per candidate. Pure torch, no I/O (DESIGN.md "Layout").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from dreamlab.errors import CheckpointError

CHECKPOINT_FORMAT = "dreamlab.controller/1"


@dataclass(frozen=True)
class ControllerSpec:
    """Shape of C and how its output becomes an env action.

    input_dim: size of the features, z_dim + M's hidden size for [z, h] (section 2.3).
    action_kind: "discrete" (argmax over `action_dim` logits) or "continuous" (tanh, then
        an affine map onto [low, high] per dimension, so CarRacing's gas and brake land in
        [0, 1] while steering stays in [-1, 1], as in the paper's CarRacing controller).
    hidden: 0 for the paper's linear C; otherwise one tanh hidden layer of this width.
    z_only: read only the first `z_dim` features (z), not h: the paper's "V model only"
        ablation (section 3.4, 632 +- 251 on CarRacing). Callers still pass [z, h]; C
        slices, so the rollout code is the same for both. Its search space shrinks from
        (z+h)*a to z*a, which CMA-ES explores in far fewer generations.
    z_mean, z_std: when given, C reads (z - z_mean) / z_std instead of z (input
        standardisation, as ARS and ES practice do). CMA-ES starts isotropic, so inputs of
        very different scales (LunarLander's bounds make velocities ~0.1 and leg contacts
        +-1) leave it searching a badly conditioned space for many generations.
    h_mean, h_std: the same for h, M's hidden state (read only when C reads h). On CartPole
        from pixels h's units moved far less than z's around sizeable offsets (one run
        inspected by hand), so the velocity that only h carries needs weights CMA-ES's
        0.1 steps take many generations to grow.
    single_logit: with two discrete actions, C outputs one number and its sign picks the
        action. The argmax of two logits depends only on their difference, so the paper's
        one-row-per-action C gives CMA-ES a second, neutral copy of every weight to search:
        the same policies in twice the dimensions.
    """

    input_dim: int
    action_kind: str
    action_dim: int
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    hidden: int = 0
    z_dim: int = 0
    z_only: bool = False
    z_mean: tuple[float, ...] = ()
    z_std: tuple[float, ...] = ()
    h_mean: tuple[float, ...] = ()
    h_std: tuple[float, ...] = ()
    single_logit: bool = False

    def __post_init__(self) -> None:
        if self.action_kind not in ("discrete", "continuous"):
            raise ValueError(f"action_kind must be discrete or continuous, not {self.action_kind}")
        if self.input_dim < 1 or self.action_dim < 1 or self.hidden < 0:
            raise ValueError(f"bad controller sizes: {self}")
        if self.action_kind == "continuous" and (
            len(self.low) != self.action_dim or len(self.high) != self.action_dim
        ):
            raise ValueError("continuous controllers need low and high for every action dim")
        if self.z_only and not 1 <= self.z_dim <= self.input_dim:
            raise ValueError(f"z_only needs 1 <= z_dim <= input_dim, got {self}")
        if (self.z_mean or self.z_std) and not (
            len(self.z_mean) == len(self.z_std) == self.z_dim >= 1
            and min(self.z_std) > 0
        ):
            raise ValueError(f"z_mean and z_std need z_dim entries, std > 0: {self}")
        if (self.h_mean or self.h_std) and not (
            len(self.h_mean) == len(self.h_std) == self.input_dim - self.z_dim >= 1
            and min(self.h_std) > 0 and not self.z_only
        ):
            raise ValueError(f"h_mean and h_std need input_dim - z_dim entries, std > 0, "
                             f"and a C that reads h: {self}")
        if self.single_logit and (self.action_kind, self.action_dim) != ("discrete", 2):
            raise ValueError(f"single_logit needs two discrete actions: {self}")

    @property
    def read_dim(self) -> int:
        """How many leading features C reads: z_dim for a z-only C, else all of [z, h]."""
        return self.z_dim if self.z_only else self.input_dim

    @property
    def out_dim(self) -> int:
        """How many numbers C outputs: one per action, or one for a single_logit C."""
        return 1 if self.single_logit else self.action_dim

    @property
    def num_params(self) -> int:
        """Length of the flat parameter vector that CMA-ES searches over."""
        if self.hidden == 0:
            return self.read_dim * self.out_dim + self.out_dim
        return (self.read_dim * self.hidden + self.hidden
                + self.hidden * self.out_dim + self.out_dim)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["low"] = list(self.low)
        d["high"] = list(self.high)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ControllerSpec:
        return cls(
            input_dim=int(d["input_dim"]),
            action_kind=str(d["action_kind"]),
            action_dim=int(d["action_dim"]),
            low=tuple(float(v) for v in d.get("low", ())),
            high=tuple(float(v) for v in d.get("high", ())),
            hidden=int(d.get("hidden", 0)),
            z_dim=int(d.get("z_dim", 0)),
            z_only=bool(d.get("z_only", False)),
            z_mean=tuple(float(v) for v in d.get("z_mean", ())),
            z_std=tuple(float(v) for v in d.get("z_std", ())),
            h_mean=tuple(float(v) for v in d.get("h_mean", ())),
            h_std=tuple(float(v) for v in d.get("h_std", ())),
            single_logit=bool(d.get("single_logit", False)),
        )

    @classmethod
    def for_action(cls, action: Any, z_dim: int, h_dim: int, hidden: int = 0,
                   z_only: bool = False, z_mean: tuple[float, ...] = (),
                   z_std: tuple[float, ...] = (), h_mean: tuple[float, ...] = (),
                   h_std: tuple[float, ...] = (),
                   single_logit: bool = False) -> ControllerSpec:
        """Spec for an env's action interface (anything with kind, n, low, high, such as
        dreamlab.envs.ActionSpec; duck-typed so that models never imports envs)."""
        return cls(
            input_dim=z_dim + h_dim,
            action_kind=action.kind,
            action_dim=int(action.n),
            low=tuple(float(v) for v in action.low) if action.kind == "continuous" else (),
            high=tuple(float(v) for v in action.high) if action.kind == "continuous" else (),
            hidden=hidden,
            z_dim=z_dim,
            z_only=z_only,
            z_mean=tuple(z_mean),
            z_std=tuple(z_std),
            h_mean=tuple(h_mean),
            h_std=tuple(h_std),
            single_logit=single_logit,
        )


def _unpack(params: torch.Tensor, spec: ControllerSpec) -> list[torch.Tensor]:
    """Split (N, P) flat vectors into per-row weight matrices and biases (views, no copy)."""
    if params.ndim != 2 or params.shape[1] != spec.num_params:
        raise ValueError(f"params must be (N, {spec.num_params}), got {tuple(params.shape)}")
    n = params.shape[0]
    sizes = [(spec.read_dim, spec.out_dim)] if spec.hidden == 0 else [
        (spec.read_dim, spec.hidden), (spec.hidden, spec.out_dim)]
    out, i = [], 0
    for fan_in, fan_out in sizes:
        out.append(params[:, i:i + fan_in * fan_out].reshape(n, fan_in, fan_out))
        i += fan_in * fan_out
        out.append(params[:, i:i + fan_out])
        i += fan_out
    return out


def controller_logits(params: torch.Tensor, features: torch.Tensor,
                      spec: ControllerSpec) -> torch.Tensor:
    """Raw outputs (N, out_dim) of N controllers, row n applied with its own params."""
    if features.shape != (params.shape[0], spec.input_dim):
        raise ValueError(
            f"features must be ({params.shape[0]}, {spec.input_dim}), got {tuple(features.shape)}"
        )
    parts = _unpack(params.to(features.dtype), spec)
    x = features[:, :spec.read_dim]
    if spec.z_mean or spec.h_mean:
        # one affine map over [z, h]; a part without moments passes through (x - 0) / 1
        h_dim = spec.read_dim - spec.z_dim
        mean = (spec.z_mean or (0.0,) * spec.z_dim) + (spec.h_mean or (0.0,) * h_dim)
        std = (spec.z_std or (1.0,) * spec.z_dim) + (spec.h_std or (1.0,) * h_dim)
        x = (x - torch.tensor(mean, dtype=x.dtype, device=x.device)) / torch.tensor(
            std, dtype=x.dtype, device=x.device)
    for k in range(0, len(parts), 2):
        x = torch.einsum("ni,nio->no", x, parts[k]) + parts[k + 1]
        if k + 2 < len(parts):
            x = torch.tanh(x)
    return x


def controller_act(params: torch.Tensor, features: torch.Tensor,
                   spec: ControllerSpec) -> torch.Tensor:
    """Actions of N controllers on N feature rows [z, h] (paper eq. in section 2.3).

    Discrete: (N,) long, the argmax of the logits, or for a single_logit C action 1 where
    its output is positive (deterministic, so a candidate's fitness varies only with the
    env, not with action sampling). Continuous: (N, action_dim) float,
    tanh squashed and mapped onto [low, high].
    """
    y = controller_logits(params, features, spec)
    if spec.single_logit:
        return (y[:, 0] > 0).long()
    if spec.action_kind == "discrete":
        return y.argmax(dim=1)
    low = torch.tensor(spec.low, dtype=y.dtype, device=y.device)
    high = torch.tensor(spec.high, dtype=y.dtype, device=y.device)
    return low + (torch.tanh(y) + 1.0) * 0.5 * (high - low)


def actions_to_m_input(actions: torch.Tensor, spec: ControllerSpec) -> torch.Tensor:
    """Actions as M consumes them: one-hot (N, n) for discrete, the values for continuous
    (the same encoding as ActionSpec.encode, which built M's training data)."""
    if spec.action_kind == "discrete":
        return torch.nn.functional.one_hot(actions.long(), spec.action_dim).float()
    return actions.float().reshape(-1, spec.action_dim)


def controller_checkpoint(params: torch.Tensor, spec: ControllerSpec, fitness: float,
                          generation: int, **extra: Any) -> dict[str, Any]:
    """The dict stored as controller_best.pt: tensors and plain values only, so it loads
    with torch.load(weights_only=True) (no pickle for shared files, DESIGN.md)."""
    flat = params.detach().reshape(-1).to(torch.float32).cpu().clone()
    if flat.numel() != spec.num_params:
        raise ValueError(f"expected {spec.num_params} params, got {flat.numel()}")
    return {"format": CHECKPOINT_FORMAT, "params": flat, "spec": spec.to_dict(),
            "fitness": float(fitness), "generation": int(generation), **extra}


def controller_from_checkpoint(d: Any) -> tuple[torch.Tensor, ControllerSpec, dict[str, Any]]:
    """(params (P,), spec, the other fields) from a controller_best.pt dict; anything else
    (a VAE checkpoint, a truncated or foreign dict) is one CheckpointError line."""
    if not isinstance(d, dict) or d.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            "not a dreamlab controller checkpoint (format "
            f"{d.get('format') if isinstance(d, dict) else type(d).__name__!r})",
            "re-run `--stage controller`",
        )
    try:
        spec = ControllerSpec.from_dict(d["spec"])
        params = d["params"].to(torch.float32).reshape(-1)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"controller checkpoint is incomplete ({exc})",
                              "re-run `--stage controller`") from exc
    if params.numel() != spec.num_params:
        raise CheckpointError(
            f"controller checkpoint holds {params.numel()} params, its spec needs "
            f"{spec.num_params}", "re-run `--stage controller`")
    meta = {k: v for k, v in d.items() if k not in ("format", "params", "spec")}
    return params, spec, meta
