"""Env ids: old names mapped to Gymnasium 1.x, and which optional extra each env needs.

The source reports were written against gym 0.2x ids (CarRacing-v0, LunarLander-v2,
PongNoFrameskip-v4); users will keep typing them, so they resolve to the current id with
one logged note instead of failing.
"""

from __future__ import annotations

import difflib
import importlib.util
import logging
import re
from collections.abc import MutableMapping

import gymnasium as gym

from dreamlab.errors import EnvError

log = logging.getLogger("dreamlab")

# Python module that proves each extra is installed, and the extra that provides it.
EXTRA_MODULES = {"box2d": "Box2D", "atari": "ale_py", "dmc": "shimmy", "rocket": "rlgym"}

ALIASES = {
    "CarRacing-v0": "CarRacing-v3",
    "CarRacing-v1": "CarRacing-v3",
    "CarRacing-v2": "CarRacing-v3",
    "LunarLander-v2": "LunarLander-v3",
    "LunarLanderContinuous-v2": "LunarLanderContinuous-v3",
    "BipedalWalker-v2": "BipedalWalker-v3",
    "BipedalWalkerHardcore-v2": "BipedalWalkerHardcore-v3",
}

# "<Game>-v0/v4/v5", "<Game>NoFrameskip-v4", "<Game>Deterministic-v4", "ALE/<Game>-v4".
# All map to ALE/<Game>-v5, which skips 4 frames inside the emulator and uses sticky
# actions (p=0.25, Machado et al. 2018). The NoFrameskip ids existed only so that a
# wrapper could skip 4 frames; v5 already does, so there is nothing left to add.
_ATARI_OLD = re.compile(r"^(?:ALE/)?([A-Z][A-Za-z0-9]*?)(NoFrameskip|Deterministic)?-v[0-5]$")

# The envs `dreamlab envs` lists and the curriculum may pick from, in that order.
CURATED = (
    "CartPole-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
    "LunarLander-v3",
    "LunarLanderContinuous-v3",
    "BipedalWalker-v3",
    "CarRacing-v3",
    "ALE/Pong-v5",
    "ALE/Breakout-v5",
    "dm_control/cartpole-balance-v0",
    "dm_control/walker-walk-v0",
)
_FAMILY_BY_ENTRY = {
    "gymnasium.envs.classic_control": "classic",
    "gymnasium.envs.box2d": "box2d",
    "ale_py": "atari",
    "shimmy": "dmc",
}
_EXTRA_BY_FAMILY = {"box2d": "box2d", "atari": "atari", "dmc": "dmc"}
_NATIVE_PIXEL_FAMILIES = ("atari",)
_NATIVE_PIXEL_IDS = ("CarRacing-v3",)

_noted: set[str] = set()  # alias notes already logged, so a run shows each once


def extra_installed(extra: str) -> bool:
    """True when the module behind an extra can be imported (found, not imported)."""
    return importlib.util.find_spec(EXTRA_MODULES[extra]) is not None


def _register_atari() -> None:
    """Make ALE ids visible in gym.registry; a no-op without ale_py."""
    if extra_installed("atari"):
        import ale_py

        gym.register_envs(ale_py)


def _looks_atari(env_id: str) -> bool:
    return env_id.startswith("ALE/") or "NoFrameskip" in env_id or "Deterministic" in env_id


def looks_dmc(env_id: str) -> bool:
    """A DeepMind Control Suite id, served through shimmy (`dm_control/<domain>-<task>-v0`)."""
    return env_id.startswith("dm_control/")


def headless_gl_defaults(environ: MutableMapping[str, str]) -> None:
    """Pick MuJoCo's renderer before dm_control is imported.

    dm_control renders through GLFW by default, which needs a display; EGL renders headless
    (CPU Mesa here, the GPU on a CUDA machine). A user's own `MUJOCO_GL` stays, and PyOpenGL
    is pointed at the same backend: dm_control refuses to import when `MUJOCO_GL=osmesa`
    meets `PYOPENGL_PLATFORM=egl`.
    """
    if not environ.get("DISPLAY"):
        environ.setdefault("MUJOCO_GL", "egl")
    backend = environ.get("MUJOCO_GL")
    if backend in ("egl", "osmesa"):
        environ.setdefault("PYOPENGL_PLATFORM", backend)


def _register_dmc() -> None:
    """DeepMind Control Suite ids (`dm_control/<domain>-<task>-v0`) come from shimmy,
    registered on import; importing it costs ~1 s, so only when such an id is asked for."""
    if extra_installed("dmc") and "dm_control/cartpole-balance-v0" not in gym.registry:
        import os

        headless_gl_defaults(os.environ)
        import shimmy

        gym.register_envs(shimmy)


# Envs outside the Gymnasium registry (Rocket League through RLGym, multi-agent): an id
# prefix -> (extra that installs it, "module:function" that builds it). Their algorithms
# build them through `external_env(env_id)`; single-agent Gymnasium code never sees them.
EXTERNAL_ENVS: dict[str, tuple[str, str]] = {
    # `rocket` (team sizes from the self-play curriculum) or `rocket:1v2` (issue 13).
    "rocket": ("rocket", "dreamlab.envs.rocket:make_rocket_env"),
}


def external_env(env_id: str) -> tuple[str, str] | None:
    """(extra, builder) for an id served outside Gymnasium's registry, else None."""
    for prefix, entry in EXTERNAL_ENVS.items():
        if env_id.startswith(prefix):
            return entry
    return None


def resolve_env_id(env_id: str) -> str:
    """Return the Gymnasium 1.x id for env_id, logging one note when it was renamed."""
    if external_env(env_id) is not None:
        return env_id
    _register_atari()
    if looks_dmc(env_id):
        if not extra_installed("dmc"):
            raise _missing_extra(env_id, "dmc")
        _register_dmc()
    target = ALIASES.get(env_id)
    if target is None:
        match = _ATARI_OLD.match(env_id)
        if match and f"ALE/{match.group(1)}-v5" in gym.registry:
            target = f"ALE/{match.group(1)}-v5"
    if target is not None and target != env_id:
        if env_id not in _noted:
            _noted.add(env_id)
            log.info("%s is now %s; using that", env_id, target)
        return target
    if env_id in gym.registry:
        return env_id
    if _looks_atari(env_id) and not extra_installed("atari"):
        raise _missing_extra(env_id, "atari")
    close = difflib.get_close_matches(env_id, list(gym.registry) + list(ALIASES), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "run `dreamlab envs` to list envs"
    raise EnvError(f"unknown env id {env_id!r}", hint)


def env_family(env_id: str) -> str:
    """classic, box2d, atari or other, read from the registered entry point."""
    spec = gym.registry.get(env_id)
    if spec is None:
        if looks_dmc(env_id):
            return "dmc"
        return "atari" if _looks_atari(env_id) else "other"
    entry = spec.entry_point if isinstance(spec.entry_point, str) else ""
    for prefix, family in _FAMILY_BY_ENTRY.items():
        if entry.startswith(prefix):
            return family
    return "other"


def native_pixels(env_id: str) -> bool:
    """Whether the env's own observation is an image (so obs='auto' means pixels)."""
    return env_id in _NATIVE_PIXEL_IDS or env_family(env_id) in _NATIVE_PIXEL_FAMILIES


def _missing_extra(env_id: str, extra: str) -> EnvError:
    return EnvError(f"{env_id} needs the {extra} extra", f"pip install 'dreamlab[{extra}]'")


def check_available(env_id: str) -> None:
    """Raise EnvError naming the extra to install when env_id cannot be built here."""
    external = external_env(env_id)
    if external is not None:
        if not extra_installed(external[0]):
            raise _missing_extra(env_id, external[0])
        return
    resolved = resolve_env_id(env_id)
    extra = _EXTRA_BY_FAMILY.get(env_family(resolved))
    if extra is not None and not extra_installed(extra):
        raise _missing_extra(resolved, extra)


def available_envs() -> list[dict]:
    """The curated envs with their family, availability and default observation."""
    _register_atari()
    _register_dmc()
    rows = []
    for env_id in CURATED:
        family = env_family(env_id)
        extra = _EXTRA_BY_FAMILY.get(family)
        rows.append(
            {
                "env_id": env_id,
                "family": family,
                "available": extra is None or extra_installed(extra),
                "extra": extra,
                "obs_default": "pixels" if native_pixels(env_id) else "state",
            }
        )
    return rows
