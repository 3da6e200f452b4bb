"""benchmarks/rocket_curriculum.py's bookkeeping: which saved learner stands for each
curriculum stage, and how much training time and how many steps each stage got. A wrong
pick would evaluate a 1v1 learner as the 1v2 stage's, or one from past the stage's end."""

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("rocket_curriculum")


@pytest.fixture
def spans(bench):
    return bench.stage_spans([("1v1", 0), ("1v2", 2_080_000), ("2v2", 3_640_000)], 5_200_000)


def test_the_stages_tile_the_run(spans) -> None:
    assert [(s.name, s.start, s.end) for s in spans] == [
        ("1v1", 0, 2_080_000),
        ("1v2", 2_080_000, 3_640_000),
        ("2v2", 3_640_000, 5_200_000),
    ]


def test_each_stage_gets_the_newest_learner_saved_inside_it(bench, spans) -> None:
    ckpt = Path("run/checkpoints")
    pool = ckpt / "pool"
    saved = sorted(
        [
            (0, pool / "step_000000000000.pt"),
            (2_000_000, ckpt / "step_000002000000.pt"),
            (2_000_000, pool / "step_000002000000.pt"),
            (2_072_000, pool / "step_000002072000.pt"),  # the last one before 1v2 starts
            (2_080_000, pool / "step_000002080000.pt"),  # the first of 1v2, not 1v1's
            (3_500_000, ckpt / "step_000003500000.pt"),
            (3_600_000, pool / "step_000003600000.pt"),
        ]
    )
    picks = [bench.newest_in(span, saved) for span in spans]
    assert picks[0] == (2_072_000, pool / "step_000002072000.pt")
    assert picks[1] == (3_600_000, pool / "step_000003600000.pt")
    assert picks[2] is None  # 2v2 never reached: nothing to evaluate
    # The final update overshoots total_steps: its checkpoint is still the last stage's.
    final = (5_201_152, ckpt / "step_000005201152.pt")
    assert bench.newest_in(spans[2], [*saved, final]) == final
    # At one step the checkpoint is preferred over the identical pool snapshot.
    early = bench.StageSpan(0, "1v1", 0, 2_050_000)
    assert bench.newest_in(early, saved) == (2_000_000, ckpt / "step_000002000000.pt")


def test_stage_time_splits_updates_by_stage_and_skips_a_resume_gap(bench) -> None:
    spans = bench.stage_spans([("1v1", 0), ("1v2", 300)], 600)
    # (time, step, overall SPS): 100 steps per update at 10 s each; the first update's
    # session began at t = 0 (100 steps / 10 steps/s before t = 10); a 1 h pause
    # (a resume) sits between steps 400 and 500.
    updates = [
        (10.0, 100, 10.0),
        (20.0, 200, 10.0),
        (30.0, 300, 10.0),
        (40.0, 400, 10.0),
        (3640.0, 500, 0.1),
        (3650.0, 600, 0.1),
    ]
    assert bench.stage_time(updates, spans[0]) == (300, 30.0)
    assert bench.stage_time(updates, spans[1]) == (200, 20.0)  # 300->400 and 500->600
    assert bench.stage_time([], spans[0]) == (0, 0.0)
    # An update across a boundary is shared by steps: 50 of 200->300 before a 1v2 at 250.
    spans = bench.stage_spans([("1v1", 0), ("1v2", 250)], 600)
    assert bench.stage_time(updates, spans[0]) == (250, pytest.approx(25.0))
    assert bench.stage_time(updates, spans[1]) == (250, pytest.approx(25.0))
