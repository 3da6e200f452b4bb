"""The env's reward in one pass: build_reward's composition, the same numbers, less Python.

build_reward stacks four RLGym / rlgym-tools reward objects in a CombinedReward inside a
DistributeRewardsWrapper. Each layer builds its own dict per step, and the player->ball
term calls np.linalg.norm per car; together that was about a fifth of an env step
(benchmarks/rocket_selfplay_profile.py), more than the observation builder. Here one
loop over the cars computes each term with the very expressions those classes use, in
the order they add them (float additions do not commute bit for bit), then spreads the
totals over teams as the wrapper does. tests/envs/rocket/test_rocket_rewards.py checks it
against the composition, value for value, over random games in 1v1, 1v2 and 2v2.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

import numpy as np
from rlgym.api import AgentID, RewardFunction
from rlgym.rocket_league.api import GameState
from rlgym.rocket_league.common_values import CAR_MAX_SPEED

from dreamlab.envs.rocket.reward_weights import RewardWeights
from dreamlab.envs.rocket.rewards import (
    OPPONENT_GOAL,
    GameClock,
    KickoffRace,
    ball_goal_alignment,
    ball_speed_towards,
    kick_at_least,
)


class FusedTeamReward(RewardFunction[AgentID, GameState, float]):
    """DistributeRewardsWrapper(CombinedReward(goal, touch, player->ball velocity,
    ball->goal velocity, touch->goal, ball-goal alignment, kickoff first touch)) with
    build_reward's weights, computed in one loop."""

    def __init__(self, weights: RewardWeights) -> None:
        self.w = weights
        # The wrapper's coefficients, as build_reward passes them.
        self.selflessness = weights.team_spirit
        self.selfishness = 1 - weights.team_spirit
        self.team_coef = 1.0 - weights.opponent_weight
        self.opp_coef = weights.opponent_weight
        self._clock = GameClock()
        self._prev_ball_velocity: np.ndarray | None = None
        self._race = KickoffRace()

    def reset(self, agents: list[AgentID], initial_state: GameState,
              shared_info: dict[str, Any]) -> None:
        self._clock.reset(initial_state.tick_count)
        self._prev_ball_velocity = np.array(initial_state.ball.linear_velocity)
        self._race.reset(initial_state)

    def get_rewards(self, agents: list[AgentID], state: GameState,
                    is_terminated: dict[AgentID, bool], is_truncated: dict[AgentID, bool],
                    shared_info: dict[str, Any]) -> dict[AgentID, float]:
        w = self.w
        dt = self._clock.elapsed(state.tick_count)
        ball = state.ball
        towards_goal = {team: ball_speed_towards(ball.position, ball.linear_velocity, goal) * dt
                        for team, goal in OPPONENT_GOAL.items()} \
            if w.ball_to_goal_velocity != 0.0 else {}
        kick = None
        if w.touch_ball_to_goal != 0.0 or w.touch_min_kick != 0.0:  # OnTouchReward's kick
            prev = ball.linear_velocity if self._prev_ball_velocity is None \
                else self._prev_ball_velocity
            self._prev_ball_velocity = np.array(ball.linear_velocity)
            kick = ball.linear_velocity - prev
        strong = w.touch_min_kick == 0.0 or kick_at_least(kick, w.touch_min_kick)
        first = self._race.winner(state) if w.kickoff_first_touch != 0.0 else None
        base: dict[AgentID, float] = {}
        blue: list[float] = []
        orange: list[float] = []
        for agent, car in state.cars.items():
            total = 0.0  # CombinedReward's order: goal, touch, player->ball, ball->goal,
            #              touch->goal, alignment, kickoff first touch
            if w.goal != 0.0:  # GoalReward
                goal = (1 if state.scoring_team == car.team_num else -1) \
                    if state.goal_scored else 0
                total += goal * w.goal
            if w.touch != 0.0:  # TouchReward, or KickTouchReward with touch_min_kick
                total += (1. if strong and car.ball_touches > 0 else 0.) * w.touch
            if w.player_to_ball_velocity != 0.0:  # VelocityPlayerToBallReward._get_reward
                car_to_ball = ball.position - car.physics.position
                car_to_ball = car_to_ball / np.sqrt(car_to_ball.dot(car_to_ball))  # linalg.norm
                vel = np.dot(car_to_ball, car.physics.linear_velocity)
                total += (vel / CAR_MAX_SPEED * dt) * w.player_to_ball_velocity
            if w.ball_to_goal_velocity != 0.0:
                total += towards_goal[car.team_num] * w.ball_to_goal_velocity
            if w.touch_ball_to_goal != 0.0:  # TouchBallToGoalReward
                total += (ball_speed_towards(ball.position, kick, OPPONENT_GOAL[car.team_num])
                          if car.ball_touches > 0 else 0.0) * w.touch_ball_to_goal
            if w.align_ball_goal != 0.0:  # AlignBallGoalReward
                total += ball_goal_alignment(car.physics.position, ball.position,
                                             OPPONENT_GOAL[car.team_num]) * dt \
                    * w.align_ball_goal
            if w.kickoff_first_touch != 0.0:  # KickoffFirstTouchReward
                total += (1.0 if KickoffRace.paid(car, first) else 0.0) * w.kickoff_first_touch
            base[agent] = total
            (blue if car.is_blue else orange).append(total)
        agg_blue, agg_orange = fmean(blue), fmean(orange)
        out = {}
        for agent in agents:  # DistributeRewardsWrapper.get_rewards
            team_agg, opp_agg = (agg_blue, agg_orange) if state.cars[agent].is_blue \
                else (agg_orange, agg_blue)
            spirit = self.selfishness * base[agent] + self.selflessness * team_agg
            out[agent] = self.team_coef * spirit - self.opp_coef * opp_agg
        return out
