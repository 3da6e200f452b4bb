"""Opponent sampling: the newest with probability p, else past ones towards even matches."""

import numpy as np
import pytest

from dreamlab.errors import ConfigError
from dreamlab.ppo.selfplay import OpponentPool, Snapshot


class FixedOdds:
    """The learner's win probability against each snapshot, fixed for the test."""

    def __init__(self, odds: dict[str, float]) -> None:
        self.odds = odds

    def win_probability(self, a: str, b: str) -> float:
        assert a == "learner"
        return self.odds[b]


def _pool(n: int, **kw) -> OpponentPool:
    pool = OpponentPool(seed=0, **kw)
    for i in range(n):
        pool.add(Snapshot(f"s{i}", i * 100, f"pool/s{i}.pt"))
    return pool


def test_latest_with_probability_p_and_past_towards_even_matches() -> None:
    pool = _pool(4, p_latest=0.5)
    odds = FixedOdds({"s0": 0.99, "s1": 0.5, "s2": 0.8, "s3": 0.5})
    picks = [pool.sample(odds).id for _ in range(4000)]
    counts = {s: picks.count(s) for s in ("s0", "s1", "s2", "s3")}
    assert counts["s3"] / 4000 == pytest.approx(0.5, abs=0.03)
    assert counts["s1"] > counts["s2"] > counts["s0"]  # even > 80% > 99%
    w = pool.past_weights(odds, "learner")
    assert w.sum() == pytest.approx(1.0)
    assert w[1] / w[2] == pytest.approx((1.0 + 1e-3) / (4 * 0.8 * 0.2 + 1e-3))


def test_p_latest_one_and_a_single_snapshot() -> None:
    odds = FixedOdds({"s0": 0.5, "s1": 0.5})
    assert {_pool(2, p_latest=1.0).sample(odds).id for _ in range(50)} == {"s1"}
    assert _pool(1, p_latest=0.0).sample(odds).id == "s0"
    for seed in range(20):  # whichever way the p_latest draw falls
        with pytest.raises(RuntimeError, match="empty"):
            OpponentPool(p_latest=0.5, seed=seed).sample(odds)


def test_oldest_evicted_and_state_round_trips() -> None:
    pool = OpponentPool(max_size=3, seed=1)
    evicted = [pool.add(Snapshot(f"s{i}", i, f"s{i}.pt")) for i in range(5)]
    assert [s.id for s in pool.snapshots] == ["s2", "s3", "s4"]
    assert [e[0].id for e in evicted if e] == ["s0", "s1"]
    odds = FixedOdds({"s2": 0.5, "s3": 0.6, "s4": 0.5})
    pool.p_latest = 0.3
    copy = OpponentPool.from_dict(pool.to_dict())
    assert [pool.sample(odds).id for _ in range(20)] == [copy.sample(odds).id for _ in range(20)]
    with pytest.raises(ValueError, match="already"):
        pool.add(Snapshot("s4", 9, "x.pt"))
    with pytest.raises(ConfigError):
        OpponentPool(p_latest=1.5)


def test_weights_are_never_zero() -> None:
    pool = _pool(3)
    w = pool.past_weights(FixedOdds({"s0": 1.0, "s1": 0.0, "s2": 0.5}), "learner")
    assert np.all(w > 0)


def test_the_chaser_takes_a_share_p_chaser_of_the_games_and_is_never_evicted() -> None:
    from dreamlab.ppo.selfplay.pool import CHASER

    odds = FixedOdds({"s0": 0.5, "s1": 0.5, "s2": 0.5})
    pool = _pool(3, p_latest=1.0, p_chaser=0.25, max_size=3)
    picks = [pool.sample(odds).id for _ in range(4000)]
    assert picks.count(CHASER.id) / 4000 == pytest.approx(0.25, abs=0.03)
    assert set(picks) == {CHASER.id, "s2"}  # the rest as p_latest says
    pool.add(Snapshot("s3", 300, "pool/s3.pt"))
    assert CHASER.id not in [s.id for s in pool.snapshots]  # not a snapshot: never evicted
    copy = OpponentPool.from_dict(pool.to_dict())
    assert copy.p_chaser == 0.25
    assert [pool.sample(odds).id for _ in range(50)] == [copy.sample(odds).id for _ in range(50)]
    assert CHASER.id not in {_pool(3, p_chaser=0.0).sample(odds).id for _ in range(500)}
    assert {_pool(3, p_chaser=1.0).sample(odds).id for _ in range(50)} == {CHASER.id}
    with pytest.raises(ConfigError, match="p_chaser"):
        OpponentPool(p_chaser=-0.1)


def test_games_against_itself_take_a_share_p_self_drawn_first() -> None:
    from dreamlab.ppo.selfplay.pool import CHASER, SELF

    odds = FixedOdds({"s0": 0.5, "s1": 0.5, "s2": 0.5})
    pool = _pool(3, p_latest=1.0, p_chaser=0.5, p_self=0.25)
    picks = [pool.sample(odds).id for _ in range(4000)]
    assert picks.count(SELF.id) / 4000 == pytest.approx(0.25, abs=0.03)
    assert picks.count(CHASER.id) / 4000 == pytest.approx(0.75 * 0.5, abs=0.03)
    assert SELF.id not in [s.id for s in pool.snapshots]
    copy = OpponentPool.from_dict(pool.to_dict())
    assert copy.p_self == 0.25
    assert [pool.sample(odds).id for _ in range(50)] == [copy.sample(odds).id for _ in range(50)]
    # p_self 0 takes no draw: a run without it meets the same opponents as before.
    a, b = _pool(3, p_latest=0.5), _pool(3, p_latest=0.5, p_self=0.0)
    assert [a.sample(odds).id for _ in range(200)] == [b.sample(odds).id for _ in range(200)]
    assert {_pool(3, p_self=1.0).sample(odds).id for _ in range(50)} == {SELF.id}
    with pytest.raises(ConfigError, match="p_self"):
        OpponentPool(p_self=1.5)
