"""Self-play rollouts on the real env with numpy stand-in policies (needs the rocket extra)."""

import multiprocessing

import numpy as np
import pytest

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym_tools")
pytest.importorskip("pettingzoo")
pytest.importorskip("openskill")

from dreamlab.envs.rocket import RocketEnvConfig  # noqa: E402
from dreamlab.envs.rocket.vector import RocketVecEnv  # noqa: E402
from dreamlab.ppo.selfplay import (  # noqa: E402
    CurriculumTeamSizes,
    OpponentPool,
    RatingTable,
    Snapshot,
    TeamSizeSchedule,
)
from dreamlab.ppo.selfplay.collector import SelfPlayCollector  # noqa: E402
from dreamlab.ppo.selfplay.schedule import parse_stages  # noqa: E402


def test_rollout_columns_games_and_ratings() -> None:
    counter = multiprocessing.get_context("spawn").Value("q", 0, lock=False)
    schedule = TeamSizeSchedule(parse_stages(["1v1", "2v2"], [0, 40]))
    source = CurriculumTeamSizes(schedule, counter, learner_team="alternate")
    cfg = RocketEnvConfig(team_size="1v1", no_touch_timeout_s=1.5)  # ~23-step games
    rng = np.random.default_rng(0)
    loaded: list[str] = []

    def load(snapshot: Snapshot):
        loaded.append(snapshot.id)
        return lambda obs: rng.integers(0, 90, len(obs))

    def learner(obs):
        return rng.integers(0, 90, len(obs)), np.zeros(len(obs)), np.full(len(obs), 0.5)

    with RocketVecEnv(2, cfg, team_sizes=source, seed=3) as venv:
        pool, ratings = OpponentPool(p_latest=0.5, seed=0), RatingTable()
        collector = SelfPlayCollector(venv, pool, ratings, counter, load, gamma=0.9)
        collector.add_snapshot(Snapshot("s0", 0, "s0.pt"))
        collector.add_snapshot(Snapshot("s1", 10, "s1.pt"))
        draws = []
        sample = pool.sample
        pool.sample = lambda r: draws.append(1) or sample(r)  # count opponent draws
        out = collector.collect(learner, lambda obs: np.full(len(obs), 2.0), num_steps=60)
    assert out.obs.shape == (60, 4, 132) and out.valid.shape == (60, 4)
    assert counter.value == 120
    # 1v1 first (one learner car per env), 2v2 once the counter passes 40 and games restart.
    assert out.valid[0].tolist() == [1, 0, 1, 0]
    assert out.valid[-1].sum() == 4
    assert ((out.valid == 0) <= (out.dones == 1)).all()  # no car -> done
    assert not out.obs[out.valid == 0].any()
    games = collector.stats.finished
    assert games and ratings.games == len([g for g in games if g["opponent"] != "learner"])
    assert len(draws) == 2 + len(games)  # one per env at start, then one per finished game
    assert collector.stats.wins + collector.stats.draws + collector.stats.losses == len(games)
    assert set(loaded) <= {"s0", "s1"} and len(loaded) == len(set(loaded))  # cached
    # Timeouts bootstrap: the last step of a drawn game carries gamma * V(final) = 1.8.
    assert np.isin(out.bootstrap.round(4), np.float32([0.0, 1.8])).all()
    assert (out.bootstrap[out.dones * out.valid == 1] == np.float32(1.8)).any()
    assert not out.bootstrap[out.dones == 0].any()
    assert out.last_value[out.valid[-1] == 1].tolist() == [2.0] * 4


def test_games_against_itself_train_both_teams_cars() -> None:
    """p_self: the learner drives both cars of those games, each in its own column (its
    own team's first), and the games are neither rated nor counted as wins."""
    from dreamlab.ppo.selfplay.pool import SELF

    counter = multiprocessing.get_context("spawn").Value("q", 0, lock=False)
    schedule = TeamSizeSchedule(parse_stages(["1v1"], [0]))
    source = CurriculumTeamSizes(schedule, counter, learner_team="alternate")
    cfg = RocketEnvConfig(team_size="1v1", max_team_size=1, no_touch_timeout_s=1.5)
    rng = np.random.default_rng(0)
    seen: list[tuple[np.ndarray, np.ndarray, list[str]]] = []
    loaded: list[str] = []

    def load(snapshot: Snapshot):
        loaded.append(snapshot.id)
        return lambda obs: rng.integers(0, 90, len(obs))

    with RocketVecEnv(3, cfg, team_sizes=source, seed=5) as venv:
        def learner(obs):
            seen.append((venv.obs.copy(), venv.learner_team.copy(),
                         [o.id for o in collector.opponents]))
            return rng.integers(0, 90, len(obs)), np.zeros(len(obs)), np.zeros(len(obs))

        pool, ratings = OpponentPool(p_latest=1.0, seed=1, p_self=0.5), RatingTable()
        with pytest.raises(ValueError, match="two_sided"):
            SelfPlayCollector(venv, pool, ratings, counter, load, gamma=0.9)
        collector = SelfPlayCollector(venv, pool, ratings, counter, load, gamma=0.9,
                                      two_sided=True)
        collector.add_snapshot(Snapshot("s0", 0, "s0.pt"))
        out = collector.collect(learner, lambda obs: np.zeros(len(obs)), num_steps=80)
    assert out.obs.shape == (80, 6, 92)
    games = collector.stats.finished
    against_self = [g for g in games if g["opponent"] == SELF.id]
    assert against_self and len(against_self) < len(games)  # both kinds were played
    assert collector.stats.self_games == len(against_self)
    assert ratings.games == len(games) - len(against_self)
    assert collector.stats.wins + collector.stats.draws + collector.stats.losses == \
        len(games) - len(against_self)
    for t, (obs, learner_team, opponents) in enumerate(seen):
        for e in range(3):
            mine, theirs = int(learner_team[e]), 1 - int(learner_team[e])
            # The learner's car first, the other team's second (the learner's too vs SELF).
            assert np.array_equal(out.obs[t, 2 * e], obs[e, mine])
            assert out.valid[t, 2 * e] == 1
            assert out.valid[t, 2 * e + 1] == float(opponents[e] == SELF.id)
            if opponents[e] == SELF.id:
                assert np.array_equal(out.obs[t, 2 * e + 1], obs[e, theirs])
    # A game's end closes both of its columns when the learner drove both.
    ends = np.nonzero(out.dones[:, 1::2] * out.valid[:, 1::2])
    assert len(ends[0]) > 0 and (out.dones[:, 0::2][ends] == 1).all()
    assert set(loaded) == {"s0"}  # only the non-SELF games loaded an opponent
