"""RocketVecEnv: shared-memory rows, auto-reset records, and workers equal to inline."""

import multiprocessing

import numpy as np
import pytest

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym.rocket_league")
pytest.importorskip("rlgym_tools")
pytest.importorskip("pettingzoo")

from dreamlab.envs.rocket import RocketEnvConfig  # noqa: E402
from dreamlab.envs.rocket.vector import RocketVecEnv  # noqa: E402
from dreamlab.ppo.selfplay import CurriculumTeamSizes, TeamSizeSchedule  # noqa: E402
from dreamlab.ppo.selfplay.schedule import parse_stages  # noqa: E402

SHORT = RocketEnvConfig(team_size="1v1", no_touch_timeout_s=2.0)  # 30 steps without a touch


def _play(venv: RocketVecEnv, steps: int, seed: int = 0) -> tuple[list, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    ends, frames = [], []
    venv.reset()
    for _ in range(steps):
        venv.actions[:] = rng.integers(0, 90, venv.actions.shape)
        ends += venv.step()
        frames.append(venv.obs.copy())
    return ends, frames


def test_inline_rows_and_episode_records() -> None:
    with RocketVecEnv(3, SHORT, num_workers=0, seed=5) as venv:
        ends, frames = _play(venv, 35)
        assert venv.obs.shape == (3, 4, 132) and venv.obs.dtype == np.float32
        assert venv.alive.sum(axis=1).tolist() == [2, 2, 2]
        assert venv.alive[:, [0, 2]].all()  # blue-0 and orange-0 play, blue-1/orange-1 do not
        assert not frames[-1][:, [1, 3]].any()
        assert venv.team[0, 2] == 1
    assert ends, "a 2 s no-touch timeout ends episodes within 35 steps"
    for end in ends:
        if end.winner is None:
            assert end.truncated and end.steps <= 35
        assert end.final_obs.shape == (4, 132) and end.alive.sum() == 2
        assert end.touches.shape == (4,) and not end.touches[~end.alive].any()


@pytest.mark.parametrize(("workers", "main_share", "spin_s"),
                         [(2, False, 0.005), (1, True, 0.005), (2, True, 0.0)])
def test_workers_equal_inline_for_the_same_seed(workers: int, main_share: bool,
                                                spin_s: float) -> None:
    """Any layout (workers only, or workers plus a share stepped here; polling the pipes or
    sleeping on them) plays the inline envs' games, with episode ends in env order."""
    with RocketVecEnv(3, SHORT, num_workers=0, seed=9) as inline:
        ends_a, frames_a = _play(inline, 40)
    with RocketVecEnv(3, SHORT, num_workers=workers, seed=9, main_share=main_share,
                      spin_s=spin_s) as split:
        assert len(split._procs) == workers and (split._inline is not None) == main_share
        ends_b, frames_b = _play(split, 40)
    for a, b in zip(frames_a, frames_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(ends_a) >= 3
    assert [(e.env, e.steps, e.winner) for e in ends_a] == \
        [(e.env, e.steps, e.winner) for e in ends_b]


def test_curriculum_changes_team_size_in_workers_without_rebuild() -> None:
    counter = multiprocessing.get_context("spawn").Value("q", 0, lock=False)
    schedule = TeamSizeSchedule(parse_stages(["2v2", "1v1"], [0, 100]))
    source = CurriculumTeamSizes(schedule, counter, learner_team="blue")
    with RocketVecEnv(2, SHORT, num_workers=1, team_sizes=source, seed=1) as venv:
        venv.reset()
        assert venv.alive.sum(axis=1).tolist() == [4, 4]
        assert venv.learner_team.tolist() == [0, 0]
        counter.value = 100  # the trainer passes 100 timesteps: next episodes are 1v1
        sizes = set()
        for _ in range(35):
            venv.actions[:] = 8
            for end in venv.step():
                assert venv.done[end.env] and end.alive.sum() == 4
                sizes.add(int(venv.alive[end.env].sum()))
        assert sizes == {2}
