"""Errors a user can cause.

Each is one clear line plus a hint saying what to do; the CLI prints both and exits
with code 2 (DESIGN.md, "Style"). Bugs stay ordinary exceptions with tracebacks.
"""

from __future__ import annotations


class DreamlabError(Exception):
    """Base class for every error the user can fix themselves."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(DreamlabError):
    """A bad flag value, an unknown YAML key, a wrong type."""


def rocket_only_flag(flag: str, run: str) -> ConfigError:
    """The error for an eval flag (`--opponent`, `--sample-actions`) given on a run that
    plays no Rocket League games; the CLI (algorithms whose evaluate takes no such keyword)
    and PPO's evaluate (PPO runs on other envs) both raise it, so the line reads the same."""
    return ConfigError(f"{flag} applies only to Rocket League self-play runs, not to {run}",
                       f"drop {flag}; it is for the games of a `dreamlab ppo --env rocket` run")


class EnvError(DreamlabError):
    """An unknown env id or one whose extra is not installed."""


class StageInputError(DreamlabError):
    """A stage found its inputs missing or invalid; the hint names the stage to run first."""


class CheckpointError(DreamlabError):
    """A checkpoint that is missing, truncated, corrupt or from another run."""


class IncompatibleRunError(DreamlabError):
    """A run directory made with a config that cannot be resumed with this one."""


class DiskBudgetError(DreamlabError):
    """The run would not fit on the disk or within --max-disk-gb, or the disk filled."""


class MemoryBudgetError(DreamlabError):
    """The requested work cannot fit the RAM or GPU memory budget."""
