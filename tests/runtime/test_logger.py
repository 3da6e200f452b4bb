"""The run logger writes scalars to TensorBoard and CSV, and videos as GIFs TensorBoard shows."""

from __future__ import annotations

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dreamlab.runtime.logger import RunLogger, read_metrics


def test_scalars_and_video_reach_tensorboard_and_csv(tmp_path) -> None:
    logger = RunLogger(tmp_path)
    logger.scalar("vae/loss", 2.0, 0)
    logger.scalar("vae/loss", 1.5, 1)
    frames = (np.random.default_rng(0).random((6, 16, 16, 3)) * 255).astype(np.uint8)
    logger.video("eval/video", frames, step=3)
    logger.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert "eval/video" in events.Tags()["images"]
    gif = events.Images("eval/video")[0].encoded_image_string
    assert gif[:3] == b"GIF"
    assert read_metrics(tmp_path)["vae/loss"] == [(0, 2.0), (1, 1.5)]
