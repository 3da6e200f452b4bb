"""`dreamlab eval RUN_DIR --opponent ... --save-videos` on a tiny self-play run, and the
"[STAGE]" webhook message of the run's curriculum change (skipped without the rocket extra).
"""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym_tools")
pytest.importorskip("pettingzoo")
pytest.importorskip("openskill")
pytest.importorskip("torch")

from dreamlab.cli import main  # noqa: E402
from dreamlab.config.ppo import PPOConfig  # noqa: E402
from dreamlab.ppo.selfplay import evaluate as sp_eval  # noqa: E402
from dreamlab.ppo.webhook import Webhook  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, list[str]]:
    """A 192-step run, 1v1 then 1v2 from step 128, with a webhook whose poster is
    replaced (no network): (run dir, the messages it would have posted)."""
    from dreamlab.ppo.selfplay.train import train_selfplay

    run = tmp_path_factory.mktemp("selfplay_eval") / "run"
    posted: list[str] = []
    cfg = PPOConfig(env="rocket", num_envs=2, num_steps=32, batch_size=64, num_epochs=1,
                    total_steps=192, checkpoint_every=128, hidden_size=16, device="cpu",
                    eval_episodes=2, num_threads=1, log_every_s=60.0,
                    webhook_url="http://hook.invalid/api/webhooks/1/token",
                    checkpoint_dir=str(run))
    # ~15-step games: they end inside the tiny run, and evaluation games stay short.
    cfg.rocket = {"no_touch_timeout_s": 1.0, "game_timeout_s": 4.0}
    cfg.selfplay = {"curriculum_stages": [{"team_size": "1v1", "start": 0},
                                          {"team_size": "1v2", "start": 128}],
                    "snapshot_every": 64, "pool_size": 3}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Webhook, "_post", lambda self, content: posted.append(content))
        train_selfplay(cfg)
    return run, posted


def _one_line(argv: list[str], capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_stage_change_sends_the_stage_webhook_message(trained) -> None:
    run, posted = trained
    stage = [m for m in posted if m.startswith("[STAGE]")]
    assert len(stage) == 1, posted
    assert f"{run.name}: 1v1 -> 1v2 at step 128" in stage[0] and "learner rating" in stage[0]
    assert posted[0].startswith("[START]")


def test_eval_against_random_chaser_and_a_snapshot_with_videos(trained, capsys) -> None:
    run, _ = trained
    sid = "step_000000000128"  # in the pool (64, 128, 192: pool_size 3)
    assert main(["eval", str(run), "--episodes", "3", "--opponent", "random,chaser",
                 "--opponent", sid, "--save-videos"]) == 0
    out = capsys.readouterr().err  # the console writes to stderr
    ev = json.loads((run / "evaluation_results.json").read_text())
    # The common schema first, every game's return, opponent after opponent.
    assert ev["algo"] == "ppo" and ev["env_id"] == "rocket" and ev["episodes"] == 9
    assert len(ev["returns"]) == 9 and ev["env_steps"] > 0
    assert ev["opponent"] == f"random,chaser,{sid}" and ev["team_size"] == "1v2"
    per = ev["opponents"]
    assert list(per) == ["random", "chaser", sid]
    assert per[sid]["kind"] == "checkpoint" and per["chaser"]["kind"] == "chaser"
    for o in per.values():
        assert o["games"] == 3 and o["wins"] + o["draws"] + o["losses"] == 3
        assert (o["goals_for"], o["goals_against"]) == (o["wins"], o["losses"])
        assert o["own_goals_against"] <= o["losses"] and o["own_goals_for"] <= o["wins"]
        assert o["win_rate"] == pytest.approx(o["wins"] / 3, abs=1e-4)
        assert o["touches_per_minute"] >= 0 and o["game_minutes"] > 0
        assert o["learner_blue_games"] in (1, 2)  # colours alternate
    assert ev["wins"] == sum(o["wins"] for o in per.values())
    # One video per opponent, each with frames.
    names = sorted(p.name for p in (run / "videos").glob("*.mp4"))
    assert names == sorted(f"eval_vs_{n}.mp4" for n in ("random", "chaser", sid))
    imageio = pytest.importorskip("imageio.v2")
    for video in ev["videos"]:
        assert video["frames"] > 0 and video["result"] in ("win", "draw", "loss")
        assert len(imageio.mimread(video["path"], memtest=False)) == video["frames"]
    assert "vs chaser: W/D/L" in out and "eval_vs_chaser.mp4" in out


def test_an_opponent_given_as_a_checkpoint_file(trained) -> None:
    run, _ = trained
    ckpt = sorted((run / "checkpoints").glob("step_*.pt"))[-1]
    result = sp_eval.evaluate_selfplay_run(run, episodes=2, opponent=str(ckpt))
    assert result.extra["opponent"] == str(ckpt)
    assert result.extra["opponents"][str(ckpt)]["games"] == 2
    assert result.extra["videos"] is None


def test_sampled_actions_replay_and_differ_from_the_mode(trained, capsys) -> None:
    """--sample-actions: the same games twice from its own seeded draws (torch's global
    generator is elsewhere the second time: the first evaluation moved it), other games
    than the mode's, and said in the results."""
    run, _ = trained

    def games(*flags: str, opponents: str = "random,chaser") -> dict:
        assert main(["eval", str(run), "--episodes", "4", "--opponent", opponents,
                     *flags]) == 0
        capsys.readouterr()
        return json.loads((run / "evaluation_results.json").read_text())

    mode = games()
    first = games("--sample-actions")
    again = games("--sample-actions")
    assert mode["deterministic"] is True and first["deterministic"] is False
    assert first["returns"] == again["returns"]
    def figures(ev: dict) -> dict:  # all but the clock
        return {o: {k: v for k, v in f.items() if k != "wall_s"}
                for o, f in ev["opponents"].items()}

    assert figures(first) == figures(again)
    assert first["returns"] != mode["returns"]
    # The chaser's games are the same without the random games played before them.
    alone = games("--sample-actions", opponents="chaser")
    assert alone["returns"] == first["returns"][4:]


def test_an_unknown_opponent_is_one_line(trained, capsys) -> None:
    run, _ = trained
    line = _one_line(["eval", str(run), "--opponent", "bogus"], capsys)
    assert "unknown opponent 'bogus'" in line
    assert "random, chaser" in line and "step_000000000192" in line  # what would work


def test_a_file_that_is_not_a_policy_is_one_line(trained, tmp_path, capsys) -> None:
    import torch

    run, _ = trained
    junk = tmp_path / "junk.pt"
    torch.save({"weights": torch.zeros(2)}, junk)
    line = _one_line(["eval", str(run), "--opponent", str(junk)], capsys)
    assert "is not a PPO policy checkpoint" in line


def test_games_are_spread_evenly_over_the_envs(trained) -> None:
    """5 games on 2 envs: 3 + 2, each env's first ones, whatever order they end in."""
    import dataclasses

    from dreamlab.runtime.checkpoint import StepCheckpointer
    from dreamlab.runtime.rundir import load_run_config

    run, _ = trained
    cfg = load_run_config(run, PPOConfig)
    ckpt = StepCheckpointer(run / "checkpoints").load_latest()
    setup = sp_eval.EvalSetup.from_checkpoint(cfg, ckpt)
    setup.rocket = dataclasses.replace(setup.rocket, game_timeout_s=2.0)
    rng = np.random.default_rng(0)
    out = sp_eval.play_games(setup, lambda obs: rng.integers(0, 90, len(obs)), 5, seed=1,
                             num_envs=2)
    assert len(out["games"]) == 5
    assert sorted(g["learner_team"] for g in out["games"]) == [0, 0, 0, 1, 1]
    stats = sp_eval.summarize(out["games"], setup.rocket.tick_skip)
    assert stats["games"] == 5 and stats["wins"] + stats["draws"] + stats["losses"] == 5


def test_the_run_leaves_plots_of_ratings_sps_returns_and_stages(trained) -> None:
    from dreamlab.runtime.logger import read_metrics

    run, _ = trained
    for name in ("ratings.png", "training.png"):
        assert (run / "plots" / name).stat().st_size > 1000
    metrics = read_metrics(run / "logs")  # what training.png and ratings.png draw
    for tag in ("train/episode_return", "perf/collect_sps", "perf/overall_sps",
                "selfplay/stage", "selfplay/rating_mu"):
        assert metrics.get(tag), tag
    assert {v for _, v in metrics["selfplay/stage"]} == {0.0, 1.0}  # both stages logged
    ratings = json.loads((run / "selfplay_ratings.json").read_text())
    assert ratings["history"]  # the learner's rating over training


def test_an_older_snapshot_plays_in_its_own_stage_and_writes_elsewhere(trained, tmp_path) -> None:
    """benchmarks/rocket_curriculum.py's use: the 1v1 stage's last learner (a pool snapshot,
    which carries no step count but its name) plays 1v1 although the run ended in 1v2,
    and the run's own evaluation_results.json is left as it was."""
    run, _ = trained
    own = run / "evaluation_results.json"
    before = own.read_bytes() if own.exists() else None
    snapshot = run / "checkpoints" / "pool" / "step_000000000064.pt"
    out = tmp_path / "stage0.json"
    result = sp_eval.evaluate_selfplay_run(run, episodes=2, opponent="random",
                                           checkpoint=snapshot, output=out)
    assert result.extra["team_size"] == "1v1" and result.extra["train_env_steps"] == 64
    assert json.loads(out.read_text())["team_size"] == "1v1"
    assert (own.read_bytes() if own.exists() else None) == before
    # A step checkpoint of the 1v2 stage plays 1v2; a relative path is read from the run dir.
    result = sp_eval.evaluate_selfplay_run(run, episodes=2, opponent="random",
                                           checkpoint="checkpoints/step_000000000128.pt",
                                           output=out)
    assert result.extra["team_size"] == "1v2" and result.extra["train_env_steps"] == 128


def test_play_run_hands_back_the_evaluations_own_games_and_writes_nothing(trained,
                                                                          tmp_path) -> None:
    """benchmarks/rocket_goal_times.py's use: the per-game records of play_run are the
    games evaluate_selfplay_run summarizes (same seeds), opponent by opponent, and
    playing them writes no results file."""
    run, _ = trained
    result = sp_eval.evaluate_selfplay_run(run, episodes=3, opponent="random,chaser",
                                           output=tmp_path / "eval.json")
    own = run / "evaluation_results.json"
    before = own.read_bytes() if own.exists() else None
    games = sp_eval.play_run(run, episodes=3, opponent=["random", "chaser"])
    assert [m.opponent.name for m in games.matches] == ["random", "chaser"]
    returns: list[float] = []
    for match in games.matches:
        records = match.played["games"]
        assert len(records) == 3
        returns += [g["return"] for g in records]
        summary = sp_eval.summarize(records, match.setup.rocket.tick_skip)
        reported = result.extra["opponents"][match.opponent.name]
        assert {k: summary[k] for k in ("wins", "draws", "losses", "game_minutes")} == \
            {k: reported[k] for k in ("wins", "draws", "losses", "game_minutes")}
    assert returns == result.returns
    assert (own.read_bytes() if own.exists() else None) == before


@pytest.mark.parametrize(("size", "mine", "theirs"), [("1v2", 1, 2), ("2v2", 2, 2)])
def test_games_in_bigger_team_sizes_drive_every_car(trained, size, mine, theirs) -> None:
    """In 1v2 and 2v2 the learner drives all its cars and the chaser all of the other
    side's: each policy gets one observation row per car per env."""
    import dataclasses

    from dreamlab.ppo.selfplay.schedule import CurriculumStage
    from dreamlab.runtime.checkpoint import StepCheckpointer
    from dreamlab.runtime.rundir import load_run_config

    run, _ = trained
    cfg = load_run_config(run, PPOConfig)
    setup = sp_eval.EvalSetup.from_checkpoint(cfg, StepCheckpointer(run / "checkpoints")
                                              .load_latest())
    learner, rows = setup.learner, {"learner": set(), "opponent": set()}

    def spy(policy, who):
        def act(obs):
            rows[who].add(len(obs))
            return policy(obs)
        return act

    setup = dataclasses.replace(
        setup, stage=CurriculumStage(size, mine, theirs, 0), learner=spy(learner, "learner"),
        rocket=dataclasses.replace(setup.rocket, game_timeout_s=2.0))
    chaser = sp_eval.opponent_policy(sp_eval.Opponent("chaser", "chaser"), cfg, setup.rocket,
                                     setup.obs_dim, seed=0)
    out = sp_eval.play_games(setup, spy(chaser, "opponent"), 2, seed=1, num_envs=2)
    assert len(out["games"]) == 2
    assert rows == {"learner": {2 * mine}, "opponent": {2 * theirs}}


def test_the_no_touch_timeout_ends_evaluation_games_only_when_asked(trained, tmp_path) -> None:
    """Evaluation games end at a goal or the clock (the fixture's 4 s), not after the
    run's 1 s without a touch; no_touch_timeout=True judges them as training does."""
    run, _ = trained
    full = sp_eval.evaluate_selfplay_run(run, episodes=4, opponent="random",
                                         output=tmp_path / "full.json")
    cut = sp_eval.evaluate_selfplay_run(run, episodes=4, opponent="random",
                                        no_touch_timeout=True, output=tmp_path / "cut.json")
    assert full.extra["no_touch_timeout_s"] is None and cut.extra["no_touch_timeout_s"] == 1.0
    games, cut_games = full.extra["opponents"]["random"], cut.extra["opponents"]["random"]
    assert games["draws"] >= 1, games
    # Every draw lasted the whole 4 s game: none was cut by the 1 s no-touch rule.
    assert games["game_minutes"] * 60 >= 4.0 * games["draws"] - 1e-6, games
    assert cut_games["game_minutes"] < games["game_minutes"], (cut_games, games)


def test_evaluation_games_kick_off_even_when_training_scatters_the_starts() -> None:
    from dreamlab.ppo.selfplay.train import selfplay_settings

    cfg = PPOConfig(env="rocket", device="cpu")
    cfg.rocket = {"scatter_start": 0.5}
    assert selfplay_settings(cfg)[0].scatter_start == 0.5
    assert sp_eval.eval_env(cfg)[0].scatter_start == 0.0
    assert sp_eval.eval_env(cfg, no_touch_timeout=True)[0].scatter_start == 0.0


def test_own_goals_are_counted_apart_both_ways() -> None:
    """A goal is an own goal when the conceding team touched the ball last; a draw or a
    goal nobody touched before is not."""
    game = {"steps": 15, "return": 0.0, "learner_touches": 1, "opponent_touches": 0}
    records = [
        {**game, "learner_team": 0, "winner": 1, "last_touch_team": 0},     # own goal, lost
        {**game, "learner_team": 1, "winner": 0, "last_touch_team": 1},     # own goal, lost
        {**game, "learner_team": 0, "winner": 1, "last_touch_team": 1},     # their goal
        {**game, "learner_team": 0, "winner": 0, "last_touch_team": 1},     # their own goal
        {**game, "learner_team": 1, "winner": 1, "last_touch_team": 1},     # a goal for
        {**game, "learner_team": 0, "winner": None, "last_touch_team": 0},  # draw
        {**game, "learner_team": 0, "winner": 0, "last_touch_team": None},  # untouched
    ]
    s = sp_eval.summarize(records, tick_skip=8)
    assert (s["wins"], s["draws"], s["losses"]) == (3, 1, 3)
    assert (s["own_goals_against"], s["own_goals_for"]) == (2, 1)
