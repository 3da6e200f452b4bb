"""Rocket League on RocketSim through RLGym v2 (the `rocket` extra), as a PettingZoo env.

Importing this package never imports rlgym: `RocketEnvConfig`, team sizes and reward
weights are checked without the extra, and `make_rocket_env` names the install in one
line when it is missing (DESIGN.md, "Style").
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from dreamlab.envs.rocket.config import RocketEnvConfig, TeamSize, parse_team_size
from dreamlab.envs.rocket.reward_weights import RewardWeights
from dreamlab.errors import EnvError

if TYPE_CHECKING:
    from dreamlab.envs.rocket.env import RocketLeagueParallelEnv

# `rocket` (the self-play curriculum sets team sizes) or `rocket:1v2` (one fixed size).
ROCKET_ENV_IDS = ("rocket",)
INSTALL_HINT = "pip install 'dreamlab[rocket]'  (rlgym[rl-sim], rlgym-tools, pettingzoo)"
# Module -> what it proves: the simulator, the RLGym API, the reward components, the API.
_REQUIRED = ("RocketSim", "rlgym.rocket_league", "rlgym_tools", "pettingzoo")


def is_rocket_id(env_id: str) -> bool:
    """Whether an env id names the Rocket League env (`rocket`, `rocket:1v2`)."""
    return env_id.split(":", 1)[0] in ROCKET_ENV_IDS


def rocket_missing() -> list[str]:
    """The modules of the `rocket` extra that cannot be found here (found, not imported)."""
    missing = []
    for name in _REQUIRED:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # the parent package of a dotted name is absent
            found = False
        if not found:
            missing.append(name)
    return missing


def require_rocket() -> None:
    """Raise EnvError naming the install when the `rocket` extra is not installed."""
    missing = rocket_missing()
    if missing:
        raise EnvError(f"Rocket League needs the rocket extra (missing: {', '.join(missing)})",
                       INSTALL_HINT)


def make_rocket_env(config: RocketEnvConfig | dict[str, Any] | None = None,
                    team_sizes: Any = None, seed: int | None = None
                    ) -> RocketLeagueParallelEnv:
    """Build one RocketLeagueParallelEnv; a dict is read as RocketEnvConfig keys."""
    if not isinstance(config, RocketEnvConfig):
        config = RocketEnvConfig.from_dict(config)
    require_rocket()
    from dreamlab.envs.rocket.env import RocketLeagueParallelEnv

    return RocketLeagueParallelEnv(config, team_sizes=team_sizes, seed=seed)


__all__ = [
    "INSTALL_HINT",
    "ROCKET_ENV_IDS",
    "RewardWeights",
    "RocketEnvConfig",
    "TeamSize",
    "is_rocket_id",
    "make_rocket_env",
    "parse_team_size",
    "require_rocket",
    "rocket_missing",
]
