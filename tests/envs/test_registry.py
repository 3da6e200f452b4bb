"""Old ids resolve with one note; unknown ids and missing extras fail with a way out."""

import logging

import pytest

from dreamlab.envs import available_envs, check_available, registry, resolve_env_id
from dreamlab.errors import EnvError


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("CarRacing-v2", "CarRacing-v3"),
        ("CarRacing-v0", "CarRacing-v3"),
        ("LunarLander-v2", "LunarLander-v3"),
        ("LunarLanderContinuous-v2", "LunarLanderContinuous-v3"),
        ("PongNoFrameskip-v4", "ALE/Pong-v5"),
        ("Pong-v4", "ALE/Pong-v5"),
        ("Pong-v5", "ALE/Pong-v5"),
        ("BreakoutNoFrameskip-v4", "ALE/Breakout-v5"),
        ("SpaceInvadersNoFrameskip-v4", "ALE/SpaceInvaders-v5"),
    ],
)
def test_old_ids_map_to_gymnasium_1x(old: str, new: str) -> None:
    assert resolve_env_id(old) == new


def test_alias_logs_one_line_note_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dreamlab"):
        resolve_env_id("CarRacing-v2")
        resolve_env_id("CarRacing-v2")
    notes = [r.getMessage() for r in caplog.records]
    assert notes == ["CarRacing-v2 is now CarRacing-v3; using that"]


@pytest.mark.parametrize(
    "env_id", ["CartPole-v1", "BipedalWalker-v3", "ALE/Pong-v5", "CartPole-v0"]
)
def test_current_ids_stay_silent(env_id: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dreamlab"):
        assert resolve_env_id(env_id) == env_id
    assert not caplog.records


def test_unknown_id_suggests_close_names() -> None:
    with pytest.raises(EnvError) as err:
        resolve_env_id("CartPol-v1")
    assert "CartPol-v1" in err.value.message
    assert "CartPole-v1" in err.value.hint


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "extra_installed", lambda extra: extra != "box2d")
    with pytest.raises(EnvError) as err:
        check_available("LunarLander-v2")
    assert err.value.message == "LunarLander-v3 needs the box2d extra"
    assert "dreamlab[box2d]" in err.value.hint
    row = next(r for r in available_envs() if r["env_id"] == "LunarLander-v3")
    assert row["available"] is False and row["extra"] == "box2d"


def test_available_envs_lists_families_and_defaults() -> None:
    rows = {r["env_id"]: r for r in available_envs()}
    assert rows["CartPole-v1"]["family"] == "classic"
    assert rows["CartPole-v1"]["obs_default"] == "state"
    assert rows["CarRacing-v3"]["family"] == "box2d"
    assert rows["CarRacing-v3"]["obs_default"] == "pixels"
    assert rows["ALE/Pong-v5"] == {
        "env_id": "ALE/Pong-v5",
        "family": "atari",
        "available": True,
        "extra": "atari",
        "obs_default": "pixels",
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, {"MUJOCO_GL": "egl", "PYOPENGL_PLATFORM": "egl"}),
        ({"MUJOCO_GL": "osmesa"}, {"MUJOCO_GL": "osmesa", "PYOPENGL_PLATFORM": "osmesa"}),
        ({"DISPLAY": ":0"}, {"DISPLAY": ":0"}),
        ({"MUJOCO_GL": "glfw"}, {"MUJOCO_GL": "glfw"}),
    ],
)
def test_headless_gl_follows_the_users_renderer(given: dict, expected: dict) -> None:
    """dm_control refuses to import when MuJoCo's and PyOpenGL's backends differ."""
    environ = dict(given)
    registry.headless_gl_defaults(environ)
    assert environ == expected
