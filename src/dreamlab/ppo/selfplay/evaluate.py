"""`dreamlab eval RUN_DIR` for a Rocket League self-play run: games against an opponent.

    dreamlab eval RUN_DIR --episodes N --opponent random|chaser|SNAPSHOT [--save-videos]
                          [--sample-actions]

The newest checkpoint's learner (or the one the run chose among its newest snapshots by
validation games, `selfplay.select_candidates`: select.py) acts deterministically (the
mode of its distribution, as PPO's own evaluation does; with `--sample-actions` it
samples, as in training, from a generator seeded with the evaluation, so those games
replay too) in the team size the curriculum had reached, alternating colours game by
game. Opponents (`--opponent`,
several comma-separated or repeated; the default is random):

* `random`: uniformly random actions of the learner's action space;
* `chaser`: the scripted bot of envs/rocket/chaser.py (drives at the ball, boosts when
  facing it), acting through the same action space;
* a snapshot id of the run's opponent pool (`step_000000128000`, as in
  selfplay_ratings.json), or the path of a checkpoint file (a pool snapshot `.pt`, or a
  `step_*.pt` checkpoint of this or another run with the same observation padding); the
  snapshot acts deterministically too.

Every opponent plays N games from the same seeds (the same kickoffs), spread evenly over
the envs so that short games are not over-counted. A game ends at the first goal or
after 2 minutes (issue 13's games of <= 2 min), so wins are goals for and losses goals
against; a timeout is a draw. The run's no-touch timeout is a training device (it cuts
episodes where both cars lost the ball, to save samples), so it does not end evaluation
games: a learner that needs 40 s to find the ball again still has the rest of its
2 minutes. `evaluate_selfplay_run(..., no_touch_timeout=True)` keeps it, which is how
games were judged before (a game with 30 s of no touch was a draw). Touches per minute
count the learner team's steps with a ball touch per minute of game time (the
opponent's beside it).

evaluation_results.json keeps the common schema (runtime/results.py): `returns` holds
every game's learner return, opponent after opponent; `opponents` maps each opponent to
its games, wins/draws/losses, win rate, goals for and against and touches per minute;
the top-level `wins`, `draws`, `losses`, ... are the totals over all opponents (for one
opponent, its own figures). `--save-videos` adds one top-down video per opponent
(envs/rocket/video.py) of one more game, the learner as blue, in RUN_DIR/videos/.

From Python, `evaluate_selfplay_run(..., checkpoint=PATH, output=PATH)` plays an older
learner instead (a `step_*.pt` checkpoint or a pool snapshot) in the team size of the
stage it was saved in, and writes its results elsewhere: benchmarks/rocket_curriculum.py
evaluates each curriculum stage's last learner so without touching the run's own file.
`play_run(...)` plays the same games and hands back their per-game records unsummarized
(benchmarks/rocket_goal_times.py bins their goals by time).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamlab.config.ppo import PPOConfig
from dreamlab.envs.rocket import RocketEnvConfig, require_rocket
from dreamlab.envs.rocket.config import TICKS_PER_SECOND
from dreamlab.envs.rocket.vector import RocketVecEnv
from dreamlab.errors import CheckpointError, ConfigError
from dreamlab.models.ppo_policy import ActionLayout, ActorCritic
from dreamlab.ppo.normalize import ObsNormalizer
from dreamlab.ppo.selfplay.schedule import CurriculumStage, CurriculumTeamSizes, TeamSizeSchedule
from dreamlab.runtime.atomic import safe_torch_load
from dreamlab.runtime.checkpoint import StepCheckpointer
from dreamlab.runtime.results import EvalResult
from dreamlab.runtime.rundir import RunLayout, load_run_config
from dreamlab.runtime.seeding import derive_seed

EVAL_GAME_S = 120.0
SCRIPTED_OPPONENTS = ("random", "chaser")
DEFAULT_OPPONENTS = ("random",)
VIDEO_FRAME_EVERY = 2  # render every 2nd agent step: 7.5 frames per game second

Policy = Callable[[np.ndarray], np.ndarray]  # obs (B, D) -> actions (B,) or (B, 8)


class _Holder:
    def __init__(self, value: int) -> None:
        self.value = value


# --- opponents -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Opponent:
    """One `--opponent` value, resolved: its name in the report, its kind, its weights."""

    name: str
    kind: str  # random | chaser | checkpoint
    path: Path | None = None

    @property
    def slug(self) -> str:
        """A file-name-safe label (the video is videos/eval_vs_<slug>.mp4)."""
        label = self.path.stem if self.kind == "checkpoint" and self.path is not None and \
            self.name != self.path.stem else self.name
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "opponent"


def opponent_names(value: str | Sequence[str] | None) -> list[str]:
    """`--opponent` values (repeated, or comma-separated) as a list without repeats; the
    default when none is given."""
    if value is None:
        return list(DEFAULT_OPPONENTS)
    items = [value] if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in items:
        for name in str(item).split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    if not names:
        raise ConfigError("--opponent is empty", "use random, chaser, a snapshot id of the "
                          "run's pool, or a checkpoint file")
    return names


def resolve_opponent(name: str, run_dir: Path) -> Opponent:
    """random | chaser | a snapshot id of the run's pool (a checkpoints/pool/<id>.pt file:
    the pool's snapshots, and evicted ones a kept checkpoint still names) | a checkpoint
    file path (as given, or relative to the run dir). Anything else is one ConfigError
    line listing what would work. Reads only file names, so a bad name is caught before
    any checkpoint loads."""
    if name in SCRIPTED_OPPONENTS:
        return Opponent(name, name)
    pool_dir = RunLayout(run_dir).checkpoints / "pool"
    snapshot = pool_dir / f"{name}.pt"
    if "/" not in name and snapshot.is_file():
        return Opponent(name, "checkpoint", snapshot)
    for path in (Path(name), run_dir / name):
        if path.is_file():
            return Opponent(name, "checkpoint", path)
    ids = sorted(p.stem for p in pool_dir.glob("*.pt"))  # step_<zero-padded>: by time
    shown = ", ".join(ids[-3:]) + (f" and {len(ids) - 3} older" if len(ids) > 3 else "")
    pool = f"a snapshot id of the run's pool ({shown})" if ids else \
        "a snapshot id of the run's pool (it has none)"
    raise ConfigError(f"unknown opponent {name!r}: not random, chaser, a snapshot of "
                      f"{run_dir}'s pool, or a checkpoint file",
                      f"use random, chaser, {pool}, or the path of a checkpoint file")


def network_policy(cfg: PPOConfig, state: Any, obs_dim: int, action: str,
                   source: str, sample_seed: int | None = None) -> Policy:
    """A policy from a {'policy', 'obs_norm'} state: a pool snapshot or a training
    checkpoint. Deterministic (the mode) unless sample_seed is given: then it samples its
    actions from torch's generator forked and seeded with it, so the games replay and the
    caller's own torch draws stay as they were. The network's width comes from the
    state's own config when it carries one (a step_*.pt), else from the run's. A state
    that does not fit is one CheckpointError line."""
    if not isinstance(state, dict) or "policy" not in state or "obs_norm" not in state:
        raise CheckpointError(f"{source} is not a PPO policy checkpoint (no policy/obs_norm)",
                              "pass a checkpoints/pool/*.pt snapshot or a step_*.pt "
                              "checkpoint of a Rocket League run")
    own = state.get("config") if isinstance(state.get("config"), dict) else {}
    layout = ActionLayout("discrete", (90,)) if action == "discrete" else \
        ActionLayout("continuous", (8,))
    try:
        net = ActorCritic((obs_dim,), layout, "mlp",
                          int(own.get("hidden_size", cfg.hidden_size)),
                          int(own.get("hidden_layers", cfg.hidden_layers)),
                          str(own.get("activation", cfg.activation)))
        net.load_state_dict(state["policy"])
        norm = ObsNormalizer((obs_dim,), cfg.clip_obs, cfg.norm_obs)
        norm.load_state_dict(state["obs_norm"])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{source} does not fit this run's network ({first[:160]})",
                              "pass a snapshot of a run with the same rocket.max_team_size "
                              "and rocket.action") from None
    net.eval()

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net.act(torch.from_numpy(norm(obs)), deterministic=True)[0].numpy()
    if sample_seed is None:
        return act
    rng = torch.Generator().manual_seed(sample_seed)

    def sample(obs: np.ndarray) -> np.ndarray:
        # The net samples from torch's global generator: run it on this policy's own
        # state inside a fork, so nothing else's draws move.
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.random.set_rng_state(rng.get_state())
            out = net.act(torch.from_numpy(norm(obs)))[0].numpy()
            rng.set_state(torch.random.get_rng_state())
        return out
    return sample


def opponent_policy(opponent: Opponent, cfg: PPOConfig, rocket: RocketEnvConfig,
                    obs_dim: int, seed: int) -> Policy:
    """The callable that drives the opponent's cars: obs (B, D) -> actions."""
    if opponent.kind == "random":
        rng = np.random.default_rng(seed)
        if rocket.action == "discrete":
            return lambda obs: rng.integers(0, 90, len(obs))
        return lambda obs: rng.uniform(-1.0, 1.0, (len(obs), 8)).astype(np.float32)
    if opponent.kind == "chaser":
        from dreamlab.envs.rocket.chaser import Chaser

        return Chaser(rocket.action)
    assert opponent.path is not None
    return network_policy(cfg, safe_torch_load(opponent.path), obs_dim, rocket.action,
                          str(opponent.path))


# --- games -----------------------------------------------------------------------------
def eval_env(cfg: PPOConfig, no_touch_timeout: bool = False) -> tuple[RocketEnvConfig, int]:
    """The run's env settings with games capped at EVAL_GAME_S (and, unless
    no_touch_timeout, no earlier end for want of a touch), every game from a kickoff
    (scattered starts are a training device), and the observation size."""
    from dreamlab.envs.rocket.fast_obs import obs_size
    from dreamlab.ppo.selfplay.train import selfplay_settings

    rocket = selfplay_settings(cfg)[0]
    game_s = min(rocket.game_timeout_s, EVAL_GAME_S)
    no_touch_s = rocket.no_touch_timeout_s if no_touch_timeout else game_s
    rocket = dataclasses.replace(rocket, game_timeout_s=game_s,
                                 no_touch_timeout_s=min(no_touch_s, game_s), scatter_start=0.0)
    return rocket, obs_size(rocket.max_team_size, rocket.car_frame_obs)


@dataclass
class EvalSetup:
    """What every game of one evaluation shares: env settings, the stage, the learner."""

    cfg: PPOConfig
    rocket: RocketEnvConfig  # game_timeout_s capped at EVAL_GAME_S
    stage: CurriculumStage
    learner_side: str
    trained_env_steps: int
    learner: Policy
    obs_dim: int

    @classmethod
    def from_checkpoint(cls, cfg: PPOConfig, ckpt: dict[str, Any],
                        source: str = "the newest checkpoint",
                        env: tuple[RocketEnvConfig, int] | None = None) -> EvalSetup:
        """The stage (so the team size) is the one the curriculum had at the checkpoint's
        step: a learner is judged in the matchup it was trained in. env: eval_env's
        result where the caller has built it already (default eval_env(cfg))."""
        from dreamlab.ppo.selfplay.train import selfplay_settings

        rocket, obs_dim = env or eval_env(cfg)
        sp = selfplay_settings(cfg)[1]
        trained = int(ckpt["counters"]["global_step"])
        learner = network_policy(cfg, ckpt, obs_dim, rocket.action, source)
        return cls(cfg, rocket, sp.schedule().stage_at(trained), sp.learner_side, trained,
                   learner, obs_dim)

    def team_sizes(self, learner_team: str) -> CurriculumTeamSizes:
        stage = self.stage
        return CurriculumTeamSizes(
            TeamSizeSchedule([CurriculumStage(stage.name, stage.learner, stage.opponents, 0)]),
            _Holder(0), learner_team=learner_team, learner_side=self.learner_side)


def play_games(setup: EvalSetup, opponent: Policy, games: int, seed: int,
               num_envs: int | None = None) -> dict[str, Any]:
    """`games` games of the learner against `opponent` in a RocketVecEnv (in-process).

    Env e plays a fixed share of the games (its first ones), so games that end quickly
    are not over-represented. Returns the per-game records and the cost.
    """
    rocket = setup.rocket
    n = max(1, min(games, num_envs or setup.cfg.num_envs))
    quota = [games // n + (e < games % n) for e in range(n)]
    played = [0] * n
    records: list[dict[str, Any]] = []
    m = rocket.max_team_size
    steps = 0
    start = time.monotonic()
    with RocketVecEnv(n, rocket, 0, team_sizes=setup.team_sizes("alternate"),
                      seed=seed) as venv:
        venv.reset()
        returns = np.zeros((n, venv.slots), dtype=np.float64)
        while len(records) < games:
            mine = venv.alive & (venv.team == venv.learner_team[:, None])
            theirs = venv.alive & ~mine
            venv.actions[mine] = setup.learner(venv.obs[mine])
            venv.actions[theirs] = opponent(venv.obs[theirs])
            ends = venv.step()
            steps += n
            returns += venv.rewards
            for end in ends:
                e = end.env
                if played[e] < quota[e]:
                    team = 0 if end.learner_team is None else end.learner_team
                    own = [s for s in range(team * m, team * m + m) if end.alive[s]]
                    other = [s for s in range((1 - team) * m, (2 - team) * m) if end.alive[s]]
                    records.append({
                        "learner_team": team, "winner": end.winner, "steps": end.steps,
                        "return": float(np.mean(returns[e, own])) if own else 0.0,
                        "last_touch_team": end.last_touch_team,
                        "learner_touches": int(end.touches[own].sum()),
                        "opponent_touches": int(end.touches[other].sum())})
                played[e] += 1
                returns[e] = 0.0
    return {"games": records[:games], "env_steps": steps, "wall_s": time.monotonic() - start}


def own_goal(record: dict[str, Any]) -> bool:
    """The game's goal went in off the conceding team: its car touched the ball last."""
    winner, last = record["winner"], record.get("last_touch_team")
    return winner is not None and last is not None and last != winner


def summarize(records: list[dict[str, Any]], tick_skip: int) -> dict[str, Any]:
    """Wins/draws/losses, goals, win rate and touches per minute of some games.
    Own goals are counted apart from the goals, both ways: against a bot that hardly
    touches the ball, a loss is nearly always the learner's own goal, and a share of the
    goals for is that bot's."""
    wins = sum(r["winner"] is not None and r["winner"] == r["learner_team"] for r in records)
    own = [r for r in records if own_goal(r)]
    draws = sum(r["winner"] is None for r in records)
    losses = len(records) - wins - draws
    minutes = sum(r["steps"] for r in records) * tick_skip / TICKS_PER_SECOND / 60.0
    per_min = (lambda k: round(sum(r[k] for r in records) / minutes, 3)) if minutes else \
        (lambda k: 0.0)
    return {"games": len(records), "wins": wins, "draws": draws, "losses": losses,
            "win_rate": round(wins / len(records), 4) if records else 0.0,
            "goals_for": wins, "goals_against": losses,
            "own_goals_against": sum(r["winner"] != r["learner_team"] for r in own),
            "own_goals_for": sum(r["winner"] == r["learner_team"] for r in own),
            "touches_per_minute": per_min("learner_touches"),
            "opponent_touches_per_minute": per_min("opponent_touches"),
            "mean_return": round(float(np.mean([r["return"] for r in records])), 4)
            if records else 0.0,
            "game_minutes": round(minutes, 3),
            "learner_blue_games": sum(r["learner_team"] == 0 for r in records)}


def team_actions(env: Any, obs: dict[str, np.ndarray],
                 policies: dict[int, Policy]) -> dict[str, Any]:
    """One step's actions in a single RocketLeagueParallelEnv: each team's policy acts on
    its cars' observations in one batch."""
    actions: dict[str, Any] = {}
    for team, policy in policies.items():
        agents = [a for a in env.agents if env.teams[a] == team]
        if agents:
            acts = policy(np.stack([obs[a] for a in agents]).astype(np.float32))
            actions.update(zip(agents, acts, strict=True))
    return actions


def record_video(setup: EvalSetup, opponent: Policy, path: Path, seed: int, title: str,
                 frame_every: int = VIDEO_FRAME_EVERY) -> dict[str, Any]:
    """Play one game, the learner as blue, and write its top-down video to `path`."""
    from dreamlab.envs.rocket import make_rocket_env
    from dreamlab.envs.rocket.video import GameVideo, frame_view

    rocket = setup.rocket
    env = make_rocket_env(rocket, team_sizes=setup.team_sizes("blue"), seed=seed)
    fps = TICKS_PER_SECOND / (rocket.tick_skip * frame_every)
    video = GameVideo(path, fps, title=title, limit_s=rocket.game_timeout_s)
    try:
        obs, _ = env.reset(seed=seed)
        start = env.state_now.tick_count
        video.add(frame_view(env.state_now, start))
        step, winner = 0, None
        while env.agents:
            obs, _, _, _, infos = env.step(team_actions(env, obs, {0: setup.learner,
                                                                   1: opponent}))
            step += 1
            if not env.agents:
                winner = next(iter(infos.values()))["winner"]
                score = (int(winner == 0), int(winner == 1)) if winner is not None else (0, 0)
                video.add(frame_view(env.state_now, start, score))
            elif step % frame_every == 0:
                video.add(frame_view(env.state_now, start))
        out = video.close()
    except BaseException:
        video.abort()
        raise
    finally:
        env.close()
    result = "draw" if winner is None else ("win" if winner == 0 else "loss")
    return {"path": str(out), "frames": video.frames, "steps": step, "result": result,
            "learner_team": "blue"}


# --- the command -----------------------------------------------------------------------
_STEP_FILE = re.compile(r"^step_(\d+)\.pt$")
SELECTED_FILE = "selected.pt"  # select.py's choice, in the run's checkpoints/


def load_learner(run_dir: Path, checkpoint: str | Path | None = None) -> dict[str, Any]:
    """The learner to evaluate: the given file (as given, or relative to the run dir), or
    by default the run's newest step checkpoint, unless select.py chose another learner
    at that checkpoint (checkpoints/selected.pt, its state then carries `selection`). A
    pool snapshot carries no counters, so its step (which picks the stage it is judged
    in) is read from its `step_<N>.pt` name."""
    if checkpoint is None:
        ckpt = StepCheckpointer(RunLayout(run_dir).checkpoints).load_latest()
        if ckpt is None:
            raise CheckpointError(f"{run_dir} holds no self-play checkpoint",
                                  "train first: dreamlab ppo --checkpoint-dir " + str(run_dir))
        selected = RunLayout(run_dir).checkpoints / SELECTED_FILE
        if selected.is_file():
            state = safe_torch_load(selected)
            # Chosen at an older checkpoint: training went on since, so the choice is stale.
            if state["selection"]["final_step"] == int(ckpt["counters"]["global_step"]):
                return state
        return ckpt
    path = next((p for p in (Path(checkpoint), run_dir / checkpoint) if p.is_file()), None)
    if path is None:
        raise CheckpointError(f"no checkpoint file {checkpoint}",
                              "pass a checkpoints/step_*.pt or checkpoints/pool/step_*.pt file")
    state = safe_torch_load(path)
    if isinstance(state, dict) and "counters" not in state:
        match = _STEP_FILE.match(path.name)
        if match is None:
            raise CheckpointError(f"{path} carries no step count and is not named "
                                  "step_<N>.pt", "pass a file the trainer wrote, as it "
                                  "named it")
        state = {**state, "counters": {"global_step": int(match.group(1))}}
    return state


def learner_source(ckpt: dict[str, Any], checkpoint: str | Path | None) -> str:
    """Which learner load_learner gave: the file asked for, the selected one, the newest."""
    if checkpoint is not None:
        return str(checkpoint)
    if "selection" in ckpt:
        return f"the selected learner ({ckpt['selection']['learner']})"
    return "the newest checkpoint"


def play_against_random(cfg: PPOConfig, ckpt: dict[str, Any], games: int, seed: int
                        ) -> dict[str, Any]:
    """`games` games of the checkpoint's learner against random actions (the end of
    training's evaluation)."""
    setup = EvalSetup.from_checkpoint(cfg, ckpt)
    out = play_games(setup, opponent_policy(Opponent("random", "random"), cfg, setup.rocket,
                                            setup.obs_dim, derive_seed(seed, "random")),
                     games, seed)
    stats = summarize(out["games"], setup.rocket.tick_skip)
    return {"team_size": setup.stage.name, "trained_env_steps": setup.trained_env_steps,
            "returns": [g["return"] for g in out["games"]], "env_steps": out["env_steps"],
            "wall_s": out["wall_s"], "game_steps": [g["steps"] for g in out["games"]],
            **{k: stats[k] for k in ("wins", "draws", "losses", "touches_per_minute")}}


@dataclass
class OpponentGames:
    """One opponent's games of an evaluation: the learner as it played them (with
    --sample-actions, its own generator), and play_games' per-game records and cost."""

    opponent: Opponent
    setup: EvalSetup
    played: dict[str, Any]


@dataclass
class RunGames:
    """Every game of one `dreamlab eval` before it is summarized, opponent by opponent.
    Benchmarks that ask more of the games than the results file holds (when the goals
    went in, say) read these records, so they judge the evaluation's own games."""

    cfg: PPOConfig
    seed: int  # the evaluation's seed: every opponent's games start from it
    matches: list[OpponentGames]
    learner: str = "the newest checkpoint"  # learner_source(): which learner played


def play_run(run_dir: str | Path, episodes: int | None = None,
             opponent: str | Sequence[str] | None = None,
             checkpoint: str | Path | None = None, no_touch_timeout: bool = False,
             sample_actions: bool = False) -> RunGames:
    """The games of `evaluate_selfplay_run` (same arguments, same seeds), unsummarized
    and unwritten."""
    require_rocket()
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir, PPOConfig)
    # Every opponent is found and loaded (one line if one is unknown or does not fit)
    # before the learner's checkpoint loads and any game is played.
    opponents = [resolve_opponent(n, run_dir) for n in opponent_names(opponent)]
    rocket, obs_dim = eval_env(cfg, no_touch_timeout)
    seed = derive_seed(cfg.seed, "eval")
    policies = {o.name: opponent_policy(o, cfg, rocket, obs_dim,
                                        derive_seed(seed, "opponent", o.name))
                for o in opponents}
    ckpt = load_learner(run_dir, checkpoint)
    source = learner_source(ckpt, checkpoint)
    setup = EvalSetup.from_checkpoint(cfg, ckpt, source, env=(rocket, obs_dim))
    games = episodes or cfg.eval_episodes
    matches: list[OpponentGames] = []
    for opp in opponents:
        if sample_actions:  # draws of its own per opponent: its games do not hang on the list
            setup = dataclasses.replace(setup, learner=network_policy(
                cfg, ckpt, obs_dim, rocket.action, source,
                derive_seed(seed, "learner actions", opp.name)))
        matches.append(OpponentGames(opp, setup, play_games(setup, policies[opp.name],
                                                            games, seed)))
    return RunGames(cfg, seed, matches, source)


def evaluate_selfplay_run(run_dir: str | Path, episodes: int | None = None,
                          save_videos: bool = False,
                          opponent: str | Sequence[str] | None = None,
                          checkpoint: str | Path | None = None,
                          output: str | Path | None = None,
                          no_touch_timeout: bool = False,
                          sample_actions: bool = False) -> EvalResult:
    """`dreamlab eval RUN_DIR` on a Rocket League run: N games per opponent.

    `checkpoint` plays that file's learner instead of the newest (load_learner), in the
    stage of its step; `output` is where the results go (default the run's
    evaluation_results.json), so an older learner's games do not replace the run's own.
    `no_touch_timeout` ends a game as a draw after the run's no-touch timeout, as training
    does (off by default: see the module's docstring). `sample_actions` has the learner
    sample from its policy instead of playing its mode (opponents that are snapshots keep
    their mode), as it acted in training, with draws of its own per opponent.
    """
    run = play_run(run_dir, episodes, opponent, checkpoint, no_touch_timeout, sample_actions)
    cfg, seed = run.cfg, run.seed
    layout = RunLayout(Path(run_dir))
    returns: list[float] = []
    records: list[dict[str, Any]] = []
    per: dict[str, Any] = {}
    videos: list[dict[str, Any]] = []
    env_steps, wall = 0, 0.0
    for match in run.matches:
        opp, setup, out = match.opponent, match.setup, match.played
        records += out["games"]
        returns += [g["return"] for g in out["games"]]
        env_steps += out["env_steps"]
        wall += out["wall_s"]
        per[opp.name] = {**summarize(out["games"], setup.rocket.tick_skip),
                         "kind": opp.kind, "env_steps": out["env_steps"],
                         "wall_s": round(out["wall_s"], 3)}
        if opp.path is not None:
            per[opp.name]["path"] = str(opp.path)
        if save_videos:
            # A fresh opponent for the video game, so its seeded draws are the video's own;
            # the learner goes on from where its games left it (its own generator).
            video_opponent = opponent_policy(opp, cfg, setup.rocket, setup.obs_dim,
                                             derive_seed(seed, "video", opp.name))
            videos.append({"opponent": opp.name, **record_video(
                setup, video_opponent, layout.videos / f"eval_vs_{opp.slug}.mp4",
                derive_seed(seed, "video"),
                f"learner (blue) vs {opp.name}, {setup.stage.name}, step "
                f"{setup.trained_env_steps}")})
    setup = run.matches[-1].setup
    total = summarize(records, setup.rocket.tick_skip)
    result = EvalResult(
        env_id=cfg.env, algo="ppo", returns=returns, env_steps=env_steps, wall_s=wall,
        extra={"opponent": ",".join(m.opponent.name for m in run.matches),
               "learner": run.learner,
               "team_size": setup.stage.name,
               "train_env_steps": setup.trained_env_steps, "deterministic": not sample_actions,
               **{k: total[k] for k in ("wins", "draws", "losses", "win_rate", "goals_for",
                                        "goals_against", "touches_per_minute")},
               "opponents": per, "game_limit_s": setup.rocket.game_timeout_s,
               "no_touch_timeout_s": setup.rocket.no_touch_timeout_s if no_touch_timeout
               else None,
               "videos": videos if save_videos else None})
    result.write(Path(output) if output is not None else layout.evaluation)
    return result
