"""The curriculum on the real World Models pipeline: tiny state envs, tiny models.

The controller's real-env evaluations are scripted (the rest trains for real), so the
plateau and the target are reached at known generations: the test checks the stopping
rule and the snapshot cadence, not how well a 4-rollout world model learns.
"""

from __future__ import annotations

import json

import pytest

from dreamlab.curriculum.runner import CurriculumOptions, run_curriculum
from dreamlab.curriculum.spec import parse_curriculum

TINY = {
    "num_random_rollouts": 4, "max_episode_steps": 60, "mdnrnn_hidden": 16,
    "mdnrnn_epochs": 1, "mdnrnn_seq_len": 16, "cma_pop_size": 4,
    "rollouts_per_candidate": 1, "eval_rollouts": 2, "eval_episodes": 2,
    "dream_max_steps": 60, "collect_workers": 1,
}
# Real-env evaluation means by env and generation: CartPole never improves after its
# first evaluation (a plateau), Acrobot climbs 100 a generation to its target of -100.
SCRIPT = {
    "CartPole-v1": lambda gen: 20.0,
    "Acrobot-v1": lambda gen: -400.0 + 100.0 * gen,
}


@pytest.fixture
def scripted_evaluations(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamlab.worldmodels import train_controller

    def evaluate(self, params):  # noqa: ANN001, ANN202 - mirrors ControllerTrainer.evaluate
        gen = self.es.generation
        return SCRIPT[self.ctx.env_info.env_id](gen), 1.0, float("nan")

    monkeypatch.setattr(train_controller.ControllerTrainer, "evaluate", evaluate)


def test_plateau_target_and_snapshot_cadence(tmp_path, scripted_evaluations) -> None:
    spec = parse_curriculum({"name": "tiny", "defaults": TINY, "envs": [
        {"env": "CartPole-v1", "target": 475, "obs": "state", "max_generations": 12,
         "overrides": {"eval_every": 2}},
        {"env": "Acrobot-v1", "target": -100, "obs": "state", "max_generations": 12,
         "overrides": {"eval_every": 1}},
    ]})
    out = tmp_path / "cur"
    result = run_curriculum(spec, out, CurriculumOptions(patience=4))
    cart, acro = result.rows

    # CartPole: evaluated at 2, 4, 6; best stays at generation 2, so patience 4 ends
    # training at generation 6 of 12.
    snaps = sorted(p.name for p in (out / "CartPole-v1_worldmodel" / "snapshots").glob("gen_*"))
    assert snaps == ["gen_0002.json", "gen_0004.json", "gen_0006.json"]
    snap = json.loads((out / "CartPole-v1_worldmodel" / "snapshots" / snaps[-1]).read_text())
    assert {"generation", "fitness_best", "fitness_mean", "eval_mean", "eval_std",
            "wall_time_s"} <= set(snap)
    assert (cart["generations"], cart["stop_reason"], cart["early_stopped"]) == (
        6, "patience", True)

    # Acrobot, evaluated every generation: -300, -200, -100 reaches the target.
    assert (acro["generations"], acro["stop_reason"]) == (3, "target")
    assert acro["best_eval_mean"] >= -100.0

    for row in (cart, acro):
        assert row["status"] == "done" and row["final_mean"] is not None
    for rel in ("results/results_table.tex", "results/combined.csv", "plots/summary.png",
                "plots/fitness_CartPole-v1.png", "plots/losses_Acrobot-v1.png"):
        assert (out / rel).is_file(), rel
    rows = (out / "results" / "CartPole-v1.csv").read_text().splitlines()
    assert rows[0] == "generation,fitness_best,fitness_mean,eval_mean,eval_std"
    assert len(rows) == 1 + 6
