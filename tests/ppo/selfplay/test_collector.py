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
