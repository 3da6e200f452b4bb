"""A stage's input store: missing or empty is one error naming the stage to run first."""

from __future__ import annotations

import pytest

from dreamlab.config import WorldModelConfig
from dreamlab.data import EpisodeStore
from dreamlab.errors import StageInputError
from dreamlab.runtime.device import setup_device
from dreamlab.runtime.logger import RunLogger
from dreamlab.worldmodels.context import RunPaths, StageContext


def _ctx(tmp_path) -> StageContext:
    return StageContext(cfg=WorldModelConfig(), paths=RunPaths(tmp_path),
                        logger=RunLogger(tmp_path / "logs", enabled=False),
                        device=setup_device("cpu", num_threads=1), env_info=None)


def test_missing_store_names_the_stage(tmp_path) -> None:
    with pytest.raises(StageInputError, match="--stage collect"):
        _ctx(tmp_path).open_store(tmp_path / "raw_data", "collect", "episode store")


def test_empty_store_names_the_stage(tmp_path) -> None:
    EpisodeStore(tmp_path / "latents", create=True)
    with pytest.raises(StageInputError, match="holds no episodes") as info:
        _ctx(tmp_path).open_store(tmp_path / "latents", "encode", "latent store")
    assert "--stage encode" in info.value.hint
