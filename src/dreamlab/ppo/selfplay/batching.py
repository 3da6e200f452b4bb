"""Batched inference: one forward pass per policy per step, across every env.

In self-play each env holds cars of the learner and cars of one pool snapshot; stepping
car by car would cost a forward pass per car (2-4 per env, x8 envs). Instead the cars are
grouped by the policy that controls them, each group's observations are stacked, and each
policy runs once on its stack. Pure numpy: a policy here is any callable from a
(batch, obs_dim) array to a (batch, ...) array of actions.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

Policy = Callable[[np.ndarray], np.ndarray]
Slot = tuple[int, str]  # (env index, agent id)


def group_by_policy(assignments: Sequence[Mapping[str, Hashable]]
                    ) -> dict[Hashable, list[Slot]]:
    """{policy key: [(env, agent), ...]} from each env's {agent: policy key}, in a fixed
    order (envs in order, agents in each env's order), so rows line up step after step."""
    groups: dict[Hashable, list[Slot]] = {}
    for env_index, assignment in enumerate(assignments):
        for agent, key in assignment.items():
            groups.setdefault(key, []).append((env_index, agent))
    return groups


def stack_obs(obs: Sequence[Mapping[str, np.ndarray]], slots: Sequence[Slot]) -> np.ndarray:
    """The observations of `slots`, stacked into one (len(slots), obs_dim) array."""
    return np.stack([obs[e][a] for e, a in slots])


def batched_actions(obs: Sequence[Mapping[str, np.ndarray]],
                    assignments: Sequence[Mapping[str, Hashable]],
                    policies: Mapping[Hashable, Policy]) -> list[dict[str, Any]]:
    """Each env's {agent: action}, calling each policy once on all the cars it drives."""
    actions: list[dict[str, Any]] = [{} for _ in obs]
    for key, slots in group_by_policy(assignments).items():
        if key not in policies:
            raise KeyError(f"no policy loaded for {key!r}")
        out = policies[key](stack_obs(obs, slots))
        if len(out) != len(slots):
            raise ValueError(f"policy {key!r} returned {len(out)} actions for {len(slots)} cars")
        for (env_index, agent), action in zip(slots, out, strict=True):
            actions[env_index][agent] = action
    return actions


def assign_sides(teams: Mapping[str, int], learner_team: int, opponent: Hashable,
                 learner: Hashable = "learner") -> dict[str, Hashable]:
    """{agent: policy key}: the learner's cars by team, the opponent snapshot's the rest."""
    return {agent: learner if team == learner_team else opponent
            for agent, team in teams.items()}


def learner_score(winner: int | None, learner_team: int) -> float:
    """The learner's game result for the ratings: 1 won, 0 lost, 0.5 no goal (timeout)."""
    if winner is None:
        return 0.5
    return 1.0 if winner == learner_team else 0.0


# --- the same on RocketVecEnv's arrays: no per-car Python at all ---------------------------


def owner_matrix(alive: np.ndarray, team: np.ndarray, learner_team: np.ndarray,
                 opponent: np.ndarray) -> np.ndarray:
    """(envs, slots) policy index per car: 0 = the learner, 1 + opponent[e] = env e's pool
    snapshot (an index into the caller's list of loaded snapshots), -1 = no car."""
    learner = team == learner_team[:, None]
    owner = np.where(learner, 0, 1 + opponent[:, None])
    return np.where(alive, owner, -1)


def batched_actions_array(obs: np.ndarray, owner: np.ndarray, policies: Sequence[Policy],
                          out: np.ndarray) -> list[int]:
    """Fill out[e, s] with the action of policy owner[e, s] for every car; each policy runs
    once, on obs[owner == k] (cars in env-major order). Returns each policy's batch size."""
    sizes = []
    for k, policy in enumerate(policies):
        mask = owner == k
        n = int(mask.sum())
        sizes.append(n)
        if n:
            out[mask] = policy(obs[mask])
    return sizes
