"""The reward function: RLGym and rlgym-tools components, plus a ball->goal velocity term.

Neither package ships a "ball moving towards the opponents' goal" reward
(notes/rocket-league-rlgym-v2.md), which is the shaping term that ties touches to
scoring, so it is written here. Everything else is the libraries' own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rlgym.api import AgentID, RewardFunction
from rlgym.rocket_league.api import GameState
from rlgym.rocket_league.common_values import (
    BALL_MAX_SPEED,
    BLUE_GOAL_BACK,
    BLUE_TEAM,
    ORANGE_GOAL_BACK,
    TICKS_PER_SECOND,
)
from rlgym.rocket_league.reward_functions import CombinedReward, GoalReward, TouchReward
from rlgym_tools.rocket_league.reward_functions.distribute_rewards_wrapper import (
    DistributeRewardsWrapper,
)
from rlgym_tools.rocket_league.reward_functions.velocity_player_to_ball_reward import (
    VelocityPlayerToBallReward,
)

from dreamlab.envs.rocket.reward_weights import RewardWeights

# Aim at the back of the net rather than the goal line's centre: from a wide angle the
# direction to the back of the net points into the mouth, not at a post.
OPPONENT_GOAL = {
    BLUE_TEAM: np.asarray(ORANGE_GOAL_BACK, dtype=np.float64),
    1 - BLUE_TEAM: np.asarray(BLUE_GOAL_BACK, dtype=np.float64),
}


class GameClock:
    """Game seconds since the previous reward call, for rewards scaled per game second
    (so a weight does not depend on the tick skip). A call before any reset counts 0 s."""

    def __init__(self) -> None:
        self._prev_tick: int | None = None

    def reset(self, tick: int) -> None:
        self._prev_tick = tick

    def elapsed(self, tick: int) -> float:
        prev = tick if self._prev_tick is None else self._prev_tick
        self._prev_tick = tick
        return (tick - prev) / TICKS_PER_SECOND


class PerSecondReward(RewardFunction[AgentID, GameState, float]):
    """A rate per game second times the game seconds since the previous step, like
    rlgym-tools' VelocityPlayerToBallReward, so a weight does not depend on the tick skip."""

    def __init__(self) -> None:
        self._clock = GameClock()

    def reset(self, agents: list[AgentID], initial_state: GameState,
              shared_info: dict[str, Any]) -> None:
        self._clock.reset(initial_state.tick_count)

    def rates(self, agents: list[AgentID], state: GameState) -> dict[AgentID, float]:
        raise NotImplementedError

    def get_rewards(self, agents: list[AgentID], state: GameState,
                    is_terminated: dict[AgentID, bool], is_truncated: dict[AgentID, bool],
                    shared_info: dict[str, Any]) -> dict[AgentID, float]:
        dt = self._clock.elapsed(state.tick_count)
        return {agent: rate * dt for agent, rate in self.rates(agents, state).items()}


class BallToGoalVelocityReward(PerSecondReward):
    """Ball speed towards the agent's opponents' goal, / BALL_MAX_SPEED, per game second.

    Positive for the team attacking that goal and negative for the other team when the
    ball moves the same way, so the two sides' rewards have opposite signs.
    """

    def rates(self, agents: list[AgentID], state: GameState) -> dict[AgentID, float]:
        per_team = {team: ball_speed_towards(state.ball.position, state.ball.linear_velocity,
                                             goal)
                    for team, goal in OPPONENT_GOAL.items()}
        return {agent: per_team[state.cars[agent].team_num] for agent in agents}


class OnTouchReward(RewardFunction[AgentID, GameState, float]):
    """Pays each agent that touched the ball in the step by what the step did to the ball
    (`pay`, from the change in the ball's velocity); 0 to the others."""

    def __init__(self) -> None:
        self._prev_velocity: np.ndarray | None = None

    def reset(self, agents: list[AgentID], initial_state: GameState,
              shared_info: dict[str, Any]) -> None:
        self._prev_velocity = np.array(initial_state.ball.linear_velocity)

    def pay(self, kick: np.ndarray, state: GameState, team: int) -> float:
        raise NotImplementedError

    def get_rewards(self, agents: list[AgentID], state: GameState,
                    is_terminated: dict[AgentID, bool], is_truncated: dict[AgentID, bool],
                    shared_info: dict[str, Any]) -> dict[AgentID, float]:
        velocity = state.ball.linear_velocity
        prev = velocity if self._prev_velocity is None else self._prev_velocity
        self._prev_velocity = np.array(velocity)  # the engine may reuse arrays
        kick = velocity - prev
        return {agent: self.pay(kick, state, state.cars[agent].team_num)
                if state.cars[agent].ball_touches > 0 else 0.0
                for agent in agents}


class TouchBallToGoalReward(OnTouchReward):
    """On a step in which the agent touched the ball: how much faster the ball now moves
    towards the agent's opponents' goal than it did a step before, / BALL_MAX_SPEED.

    Why beside BallToGoalVelocityReward: that term pays both cars for every movement of the
    ball, whoever caused it, and at weights large enough to matter it kept the learner off
    the ball (benchmarks/results/rocket_learning_shoot.json, rocket_learning_b2g5.json).
    This one pays only the car that made the change, and charges it for a touch that
    sends the ball towards its own goal. rlgym-tools' AdvancedTouchReward pays the size of
    the change in any direction.
    """

    def pay(self, kick: np.ndarray, state: GameState, team: int) -> float:
        return ball_speed_towards(state.ball.position, kick, OPPONENT_GOAL[team])


class KickTouchReward(OnTouchReward):
    """1 for a step in which the agent touched the ball and the ball's velocity changed by
    at least `min_kick` uu/s; RLGym's TouchReward pays every touch.

    Why: after ~15M steps of self-play with align_ball_goal (benchmarks/results/align_s1.json)
    the learner and its copy pinned the ball between them and touched it on most steps of
    whole games (training returns of several hundred a game; a touch paid 0.5). In
    games of that learner against itself 97% of the touches changed the ball's velocity by
    less than 100 uu/s (median 25); the hour YAML's learner, which did not stall, moved it
    by 100 or more in 77% of its touches (median 201; rocket_touch_kicks.py ->
    touch_kicks_align_s1.json, touch_kicks_self_s1_epyc.json).
    """

    def __init__(self, min_kick: float) -> None:
        super().__init__()
        self.min_kick = min_kick

    def pay(self, kick: np.ndarray, state: GameState, team: int) -> float:
        return 1.0 if kick_at_least(kick, self.min_kick) else 0.0


def kick_at_least(kick: np.ndarray, min_kick: float) -> bool:
    """|kick| >= min_kick, without the square root."""
    return float(kick.dot(kick)) >= min_kick * min_kick


class KickoffRace:
    """Who touches the ball first after a kickoff. Armed by a reset whose ball sits still
    on the centre spot (SeededKickoffMutator's kickoff; a scattered start's ball is
    elsewhere and rolling), spent by the first step on which any car touches the ball."""

    def __init__(self) -> None:
        self.armed = False

    def reset(self, state: GameState) -> None:
        ball = state.ball
        self.armed = bool(abs(float(ball.position[0])) < 1.0
                          and abs(float(ball.position[1])) < 1.0
                          and not np.any(ball.linear_velocity))

    def winner(self, state: GameState) -> int | None:
        """The team whose cars alone touched the ball on the race's first touched step;
        None before that step, after it, and when both teams touched on it."""
        if not self.armed:
            return None
        teams = {car.team_num for car in state.cars.values() if car.ball_touches > 0}
        if not teams:
            return None
        self.armed = False
        return teams.pop() if len(teams) == 1 else None

    @staticmethod
    def paid(car: Any, first: int | None) -> bool:
        """Whether `car` is paid for the race `winner` returned `first` for: a car of the
        winning team that touched the ball."""
        return car.team_num == first and car.ball_touches > 0


class KickoffFirstTouchReward(RewardFunction[AgentID, GameState, float]):
    """1, once a game, to the car (or cars, in a team game) that touches the kickoff ball
    first; nothing on a same-step touch by both teams, nor in scattered starts.

    Why: most goals the hours concede to the chaser go in within 10 s of the kickoff
    (benchmarks/results/rocket_goal_times_epyc.json). Against four of seven hours'
    learners the chaser touched the kickoff ball first in 40 of 40 kickoffs, driving at it
    ~70-100 uu/s faster over the first 2 s; the one learner as fast as the chaser tied
    34 of 40 and conceded no kickoff goal (rocket_kickoffs_epyc.json). In self-play the
    learner races a copy of itself that arrives when it does, and the per-second
    player->ball term pays speed, not arriving first: this term pays winning the race.
    """

    def __init__(self) -> None:
        self.race = KickoffRace()

    def reset(self, agents: list[AgentID], initial_state: GameState,
              shared_info: dict[str, Any]) -> None:
        self.race.reset(initial_state)

    def get_rewards(self, agents: list[AgentID], state: GameState,
                    is_terminated: dict[AgentID, bool], is_truncated: dict[AgentID, bool],
                    shared_info: dict[str, Any]) -> dict[AgentID, float]:
        first = self.race.winner(state)
        return {agent: 1.0 if KickoffRace.paid(state.cars[agent], first) else 0.0
                for agent in agents}


class AlignBallGoalReward(PerSecondReward):
    """Cosine between car->ball and car->opponents' goal, per game second: +1 with the ball
    straight between the car and the goal it attacks, -1 with the car between the ball
    and that goal, where driving into the ball sends it at the car's own net.

    Why: after the p_self hours most games the learner lost against random play were
    own goals (docs/rocket.md). Touch, player->ball and touch->goal reward reaching the
    ball and a good kick once there, but nothing pays for coming at the ball from the
    right side before the touch. rlgym 1.x shipped an AlignBallGoal reward (offence and
    defence cosines); rlgym 2 and rlgym-tools ship none, so this one is written here.
    """

    def rates(self, agents: list[AgentID], state: GameState) -> dict[AgentID, float]:
        return {agent: ball_goal_alignment(state.cars[agent].physics.position,
                                           state.ball.position,
                                           OPPONENT_GOAL[state.cars[agent].team_num])
                for agent in agents}


def ball_goal_alignment(car: np.ndarray, ball: np.ndarray, goal: np.ndarray) -> float:
    """cos(angle between car->ball and car->goal); 0 when the car sits on either point."""
    to_ball, to_goal = ball - car, goal - car
    norms = math.sqrt(float(np.dot(to_ball, to_ball)) * float(np.dot(to_goal, to_goal)))
    return float(np.dot(to_ball, to_goal)) / norms if norms > 0.0 else 0.0


def ball_speed_towards(position: np.ndarray, velocity: np.ndarray, target: np.ndarray) -> float:
    """Component of a velocity (or change of velocity) along ball->target, in units of
    BALL_MAX_SPEED."""
    direction = target - position
    norm = math.sqrt(float(np.dot(direction, direction)))  # np.linalg.norm costs 3x here
    if norm == 0.0:
        return 0.0
    return float(np.dot(velocity, direction)) / (norm * BALL_MAX_SPEED)


def build_reward(weights: RewardWeights) -> RewardFunction:
    """CombinedReward of the weighted components, spread over teams by DistributeRewardsWrapper.

    The wrapper (rlgym-tools) gives each agent team_coef * (own + team_spirit share) minus
    opponent_weight * the opponents' mean: zero-sum between teams at opponent_weight 0.5,
    so self-play cannot farm shaping reward by cooperating with the other side.
    """
    parts = [
        (GoalReward(), weights.goal),
        (TouchReward() if weights.touch_min_kick == 0.0
         else KickTouchReward(weights.touch_min_kick), weights.touch),
        (VelocityPlayerToBallReward(), weights.player_to_ball_velocity),
        (BallToGoalVelocityReward(), weights.ball_to_goal_velocity),
        (TouchBallToGoalReward(), weights.touch_ball_to_goal),
        (AlignBallGoalReward(), weights.align_ball_goal),
        (KickoffFirstTouchReward(), weights.kickoff_first_touch),
    ]
    combined = CombinedReward(*[(fn, w) for fn, w in parts if w != 0.0])
    return DistributeRewardsWrapper(
        combined,
        selflessness=weights.team_spirit,
        team_coef=1.0 - weights.opponent_weight,
        opp_coef=weights.opponent_weight,
    )
