"""Rocket League (RLGym v2 + RocketSim) as a PettingZoo Parallel env.

PettingZoo's Parallel API is the field's convention for multi-agent envs; RLGym returns
dicts keyed by agent id with no info and no auto-reset, so this adapter adds the infos
(each agent's team), float32 observations of one fixed size, Gymnasium spaces, seeding
and the end-of-episode bookkeeping (who scored) that self-play ratings read.

Agents are `blue-i` (team 0) and `orange-i` (team 1). `possible_agents` lists every car
the padding allows, so one env serves 1v1, 1v2 and 2v2; `agents` holds this episode's.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv
from rlgym.api import RLGym
from rlgym.rocket_league.done_conditions import (
    AnyCondition,
    GoalCondition,
    NoTouchTimeoutCondition,
    TimeoutCondition,
)
from rlgym.rocket_league.obs_builders import DefaultObs
from rlgym.rocket_league.state_mutators import MutatorSequence

from dreamlab.envs.rocket.actions import make_action_parser, num_discrete_actions
from dreamlab.envs.rocket.car_frame_obs import CarFrameObs
from dreamlab.envs.rocket.config import RocketEnvConfig, TeamSize, parse_team_size
from dreamlab.envs.rocket.engine import HeldActionEngine
from dreamlab.envs.rocket.fast_obs import FastDefaultObs, obs_size
from dreamlab.envs.rocket.fused_reward import FusedTeamReward
from dreamlab.envs.rocket.mutators import (
    ScatterStartMutator,
    SeededKickoffMutator,
    TeamSizeMutator,
    TeamSizeSource,
)
from dreamlab.envs.rocket.reward_weights import RewardWeights


def _respawn_rng(seed: int | None) -> np.random.Generator:
    """The demo respawns' generator: the env's seed, kept apart from the kickoffs' stream
    (so a demo does not shift the next kickoffs)."""
    return np.random.default_rng(None if seed is None else [seed, 1])


class RocketLeagueParallelEnv(ParallelEnv):
    """One Rocket League arena; the team size may change at every reset.

    team_sizes: called at every reset for that episode's TeamSize (the self-play
    curriculum passes one that reads the shared timestep counter); default: the config's
    fixed `team_size`. `reset(options={"team_size": "1v2"})` overrides it for one reset.
    """

    metadata = {"name": "rocket_league_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, config: RocketEnvConfig | None = None,
                 team_sizes: TeamSizeSource | None = None, seed: int | None = None) -> None:
        self.config = config or RocketEnvConfig()
        cfg = self.config
        self._fixed = parse_team_size(cfg.team_size)
        self._source = team_sizes
        self._once: TeamSize | None = None
        self.reward_weights = RewardWeights.from_dict(cfg.rewards)
        self._team_mutator = TeamSizeMutator(self._next_team_size, cfg.max_team_size)
        self._kickoff = SeededKickoffMutator(np.random.default_rng(seed))
        self._engine = HeldActionEngine(respawn_rng=_respawn_rng(seed))
        obs_builder = (FastDefaultObs(cfg.max_team_size) if cfg.fast_obs
                       else DefaultObs(zero_padding=cfg.max_team_size))
        if cfg.car_frame_obs:
            obs_builder = CarFrameObs(obs_builder, cfg.max_team_size)
        self.rlgym = RLGym(
            state_mutator=MutatorSequence(
                self._team_mutator, ScatterStartMutator(self._kickoff, cfg.scatter_start)),
            obs_builder=obs_builder,
            action_parser=make_action_parser(cfg.action, cfg.tick_skip),
            reward_fn=FusedTeamReward(self.reward_weights),  # = rewards.build_reward, faster
            transition_engine=self._engine,  # RocketSimEngine, fewer calls, seeded respawns
            termination_cond=GoalCondition(),
            truncation_cond=AnyCondition(NoTouchTimeoutCondition(cfg.no_touch_timeout_s),
                                         TimeoutCondition(cfg.game_timeout_s)),
        )
        m = cfg.max_team_size
        self.possible_agents = [f"blue-{i}" for i in range(m)] + [f"orange-{i}" for i in range(m)]
        self.agents: list[str] = []
        # One space object for every agent: PettingZoo requires the same object on each
        # call, and one policy reads every car's observation.
        self._obs_space = gym.spaces.Box(-np.inf, np.inf, (obs_size(m, cfg.car_frame_obs),),
                                         np.float32)
        self._act_space: gym.spaces.Space = (
            gym.spaces.Discrete(num_discrete_actions()) if cfg.action == "discrete"
            else gym.spaces.Box(-1.0, 1.0, (8,), np.float32))
        self.teams: dict[str, int] = {}
        self.episode_steps = 0
        self.touches: dict[str, int] = {}
        self.last_touch_team: int | None = None  # who touched the ball last: own goals

    # --- spaces -------------------------------------------------------------------------
    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self._obs_space

    def action_space(self, agent: str) -> gym.spaces.Space:
        return self._act_space

    @property
    def team_size(self) -> TeamSize | None:
        """This episode's team size (None before the first reset)."""
        return self._team_mutator.current

    def set_team_size(self, size: str | TeamSize) -> None:
        """Use this team size from the next reset on (replaces any team_sizes source)."""
        self._fixed = parse_team_size(size)
        self._source = None

    def _next_team_size(self) -> TeamSize:
        if self._once is not None:
            size, self._once = self._once, None
            return size
        return self._source() if self._source is not None else self._fixed

    # --- episode ------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._kickoff.rng = np.random.default_rng(seed)
            self._engine.respawn_rng = _respawn_rng(seed)
            self._act_space.seed(seed)
        if options and "team_size" in options:
            self._once = parse_team_size(options["team_size"])
        obs = self.rlgym.reset()
        self.agents = list(self.rlgym.agents)
        self.teams = {a: int(self.rlgym.state.cars[a].team_num) for a in self.agents}
        self.episode_steps = 0
        self.touches = dict.fromkeys(self.agents, 0)
        self.last_touch_team = None
        return self._float32(obs), self._infos()

    def step(self, actions: dict[str, Any]) -> tuple[
            dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool],
            dict[str, dict[str, Any]]]:
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise KeyError(f"no action for {', '.join(missing)}; every car acts every step")
        parsed = {a: self._engine_action(actions[a]) for a in self.agents}
        obs, rewards, terminated, truncated = self.rlgym.step(parsed)
        self.episode_steps += 1
        state = self.rlgym.state
        for agent in self.agents:  # steps with a ball touch, for touches per minute
            if state.cars[agent].ball_touches > 0:
                self.touches[agent] += 1
                self.last_touch_team = self.teams[agent]
        ended = any(terminated.values()) or any(truncated.values())
        infos = self._infos()
        if ended:
            # The result every agent's info carries at the end: the winning team (None =
            # no goal before the timeout, a draw for the ratings), the episode length and
            # the agent's steps with a ball touch; the team that touched the ball last
            # (a goal into its own net is an own goal; None: nobody touched it).
            winner = state.scoring_team if state.goal_scored else None
            for agent, info in infos.items():
                info["winner"] = winner
                info["last_touch_team"] = self.last_touch_team
                info["episode_steps"] = self.episode_steps
                info["touches"] = self.touches[agent]
            self.agents = []
        return (self._float32(obs), {a: float(r) for a, r in rewards.items()},
                {a: bool(v) for a, v in terminated.items()},
                {a: bool(v) for a, v in truncated.items()}, infos)

    def _infos(self) -> dict[str, dict[str, Any]]:
        """Each agent's team, and the learner's side when the team-size source chose one."""
        learner = self.team_size.learner_team if self.team_size is not None else None
        extra = {} if learner is None else {"learner_team": learner}
        return {a: {"team": self.teams[a], **extra} for a in self.agents}

    def _engine_action(self, action: Any) -> np.ndarray:
        if self.config.action == "discrete":
            return np.asarray(action, dtype=np.int64).reshape(1)
        return np.asarray(action, dtype=np.float32).reshape(8)

    @staticmethod
    def _float32(obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {a: np.asarray(o, dtype=np.float32) for a, o in obs.items()}

    @property
    def state_now(self) -> Any:
        """RLGym's GameState (cars, ball, tick count) for renderers, evaluators and tests."""
        return self.rlgym.state

    def render(self) -> None:
        return None

    def close(self) -> None:
        self.rlgym.close()
