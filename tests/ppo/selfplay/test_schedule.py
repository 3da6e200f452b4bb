"""The team-size curriculum: the seed's stage boundaries and the env's team-size source."""

import multiprocessing

import pytest

from dreamlab.envs.rocket import TeamSize
from dreamlab.errors import ConfigError
from dreamlab.ppo.selfplay import CurriculumTeamSizes, SelfPlayConfig, TeamSizeSchedule
from dreamlab.ppo.selfplay.schedule import parse_stages


class Holder:
    def __init__(self, value: int = 0) -> None:
        self.value = value


@pytest.mark.parametrize("t, name", [(0, "1v1"), (1_999_999, "1v1"), (2_000_000, "1v2"),
                                     (3_499_999, "1v2"), (3_500_000, "2v2"),
                                     (10_000_000, "2v2")])
def test_seed_stage_boundaries(t: int, name: str) -> None:
    assert TeamSizeSchedule().stage_at(t).name == name


def test_the_seed_yaml_block_loads() -> None:
    cfg = SelfPlayConfig.from_dict({"enabled": True,
                                    "curriculum_stages": ["1v1", "1v2", "2v2"]})
    schedule = cfg.schedule()
    assert [(s.name, s.start) for s in schedule.stages] == [
        ("1v1", 0), ("1v2", 2_000_000), ("2v2", 3_500_000)]
    assert schedule.max_team_size == 2
    assert [s.start for s in schedule.scaled(0.01).stages] == [0, 20_000, 35_000]


def test_explicit_stages_and_bad_ones() -> None:
    stages = parse_stages([{"team_size": "1v1", "start": 0}, {"team_size": "2v2", "start": 50}])
    assert TeamSizeSchedule(stages).stage_at(49).name == "1v1"
    assert TeamSizeSchedule(stages).stage_at(50).name == "2v2"
    for bad, match in [
        ([{"team_size": "1v1", "start": 5}], "first stage must start at 0"),
        ([{"team_size": "1v1", "start": 0}, {"team_size": "2v2", "start": 0}], "must increase"),
        (["1v1", "2v2"], "needs stage_starts"),
        ([{"team_size": "1x1", "start": 0}], "team size must look like"),
        ([{"team": "1v1"}], r"must be \{team_size"),
        ("1v1", "non-empty list"),
    ]:
        with pytest.raises(ConfigError, match=match):
            parse_stages(bad)
    with pytest.raises(ConfigError, match="unknown key 'p_lastest'"):
        SelfPlayConfig.from_dict({"p_lastest": 0.5})
    with pytest.raises(ConfigError, match="p-latest must be <= 1"):
        SelfPlayConfig(p_latest=2.0)


def test_team_size_source_follows_the_counter_and_the_learner_side() -> None:
    counter = Holder()
    source = CurriculumTeamSizes(TeamSizeSchedule(), counter, learner_team="blue")
    assert source() == TeamSize(1, 1, learner_team=0)
    counter.value = 2_000_000
    assert source() == TeamSize(1, 2, learner_team=0)  # learner alone against two
    counter.value = 3_600_000
    assert source() == TeamSize(2, 2, learner_team=0)
    orange = CurriculumTeamSizes(TeamSizeSchedule(), Holder(2_500_000), "orange", "first")
    assert orange() == TeamSize(2, 1, learner_team=1)
    second = CurriculumTeamSizes(TeamSizeSchedule(), Holder(2_500_000), "blue", "second")
    assert second() == TeamSize(2, 1, learner_team=0)


def test_alternating_meets_every_colour_and_side() -> None:
    source = CurriculumTeamSizes(TeamSizeSchedule(), Holder(2_500_000), "alternate",
                                 "alternate")
    seen = {source() for _ in range(4)}
    assert seen == {TeamSize(1, 2, 0), TeamSize(2, 1, 1), TeamSize(2, 1, 0),
                    TeamSize(1, 2, 1)}


def test_a_shared_counter_works() -> None:
    counter = multiprocessing.get_context("spawn").Value("q", 0, lock=False)
    source = CurriculumTeamSizes(TeamSizeSchedule(), counter, "blue")
    counter.value = 3_500_000
    assert source() == TeamSize(2, 2, 0)
