"""One forward pass per policy per step, across all envs."""

import numpy as np
import pytest

from dreamlab.ppo.selfplay import assign_sides, batched_actions, group_by_policy, learner_score


class CountingPolicy:
    """Returns obs[:, 0] as the action and counts its calls and rows."""

    def __init__(self) -> None:
        self.calls, self.rows = 0, 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.rows += len(obs)
        return obs[:, 0].copy()


def test_each_policy_runs_once_on_all_its_cars() -> None:
    teams = [{"blue-0": 0, "orange-0": 1},
             {"blue-0": 0, "orange-0": 1, "orange-1": 1},
             {"blue-0": 0, "blue-1": 0, "orange-0": 1, "orange-1": 1}]
    opponents = ["s1", "s2", "s1"]
    learner_teams = [0, 1, 0]
    assignments = [assign_sides(t, lt, o) for t, lt, o in
                   zip(teams, learner_teams, opponents, strict=True)]
    obs = [{a: np.full(4, 10 * e + i, dtype=np.float32) for i, a in enumerate(t)}
           for e, t in enumerate(teams)]
    policies = {"learner": CountingPolicy(), "s1": CountingPolicy(), "s2": CountingPolicy()}
    actions = batched_actions(obs, assignments, policies)
    assert {k: p.calls for k, p in policies.items()} == {"learner": 1, "s1": 1, "s2": 1}
    assert policies["learner"].rows == 1 + 2 + 2 and policies["s1"].rows == 1 + 2
    for e, env_obs in enumerate(obs):
        assert actions[e] == {a: o[0] for a, o in env_obs.items()}
    groups = group_by_policy(assignments)
    assert groups["learner"] == [(0, "blue-0"), (1, "orange-0"), (1, "orange-1"),
                                 (2, "blue-0"), (2, "blue-1")]


def test_missing_policy_and_wrong_batch() -> None:
    obs = [{"blue-0": np.zeros(2)}]
    with pytest.raises(KeyError, match="no policy loaded for 's9'"):
        batched_actions(obs, [{"blue-0": "s9"}], {})
    with pytest.raises(ValueError, match="returned 0 actions for 1 cars"):
        batched_actions(obs, [{"blue-0": "p"}], {"p": lambda o: o[:0]})


def test_learner_score() -> None:
    assert learner_score(0, 0) == 1.0
    assert learner_score(1, 0) == 0.0
    assert learner_score(None, 1) == 0.5


def test_array_path_runs_each_policy_once() -> None:
    from dreamlab.ppo.selfplay.batching import batched_actions_array, owner_matrix

    alive = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [1, 1, 1, 1]], dtype=bool)
    team = np.array([[0, 0, 1, 1]] * 3, dtype=np.int8)
    learner_team = np.array([0, 1, 0], dtype=np.int8)
    owner = owner_matrix(alive, team, learner_team, opponent=np.array([0, 1, 0]))
    assert owner.tolist() == [[0, -1, 1, -1], [2, -1, 0, 0], [0, 0, 1, 1]]
    obs = np.arange(12, dtype=np.float32).reshape(3, 4, 1).repeat(2, axis=2)
    policies = [CountingPolicy(), CountingPolicy(), CountingPolicy()]
    out = np.full((3, 4), -1.0, dtype=np.float32)
    assert batched_actions_array(obs, owner, policies, out) == [5, 3, 1]
    assert [p.calls for p in policies] == [1, 1, 1]
    np.testing.assert_array_equal(out[alive], obs[alive][:, 0])
    assert (out[~alive] == -1).all()
