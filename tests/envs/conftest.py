"""Shared fixtures for the env tests."""

import pytest

from dreamlab.envs import registry


@pytest.fixture(autouse=True)
def fresh_alias_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the one-line alias note again, whatever ran before it."""
    monkeypatch.setattr(registry, "_noted", set())
