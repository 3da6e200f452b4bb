"""Write mp4s (Mp4Writer), and show the evaluation videos of a run in a window
(`--visualize`, issue item 5).

seeds/001 drew its rollouts live in OpenCV windows. Here the evaluation stage records the
rollouts as mp4 (the same files `--record-video` keeps), and this plays them back with
matplotlib once the env has finished: no second renderer inside the training loop, no
OpenCV dependency, and nothing to do on a machine without a display.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("dreamlab")


class Mp4Writer:
    """Streams (H, W, 3) uint8 frames to an mp4 (imageio + ffmpeg, both dependencies) and
    renames it into place on close, so a killed run never leaves half a video under the
    final name. Frames go to ffmpeg as they come: a long video costs no memory.

    Every video of the project goes through here (World Models' real and dream episodes,
    Dreamer's evaluation and open-loop videos, Rocket League's top-down games).
    """

    def __init__(self, path: str | Path, fps: float = 30) -> None:
        import imageio.v2 as imageio

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.stem}.tmp{self.path.suffix}")
        # macro_block_size=2: keep the native size (H.264 with yuv420p needs even sides)
        self.writer = imageio.get_writer(self.tmp, fps=fps, macro_block_size=2,
                                         ffmpeg_log_level="error")
        self.count = 0

    def add(self, frame: np.ndarray) -> None:
        self.writer.append_data(np.ascontiguousarray(frame))
        self.count += 1

    def close(self) -> Path:
        self.writer.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file (an error mid-video): nothing under the final name."""
        try:
            self.writer.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def show_videos(video_dir: str | Path, title: str = "", fps: float = 30.0,
                max_videos: int = 2) -> int:
    """Play up to `max_videos` mp4s from `video_dir`; returns how many were shown.

    Any failure (no GUI backend, a codec missing) is one warning: a window is a
    convenience and must never cost a finished training run.
    """
    videos = sorted(Path(video_dir).glob("*.mp4"))[:max_videos]
    if not videos:
        log.info("--visualize: no evaluation videos in %s to show", video_dir)
        return 0
    shown = 0
    try:
        import imageio.v2 as imageio
        import matplotlib.pyplot as plt

        for path in videos:
            frames = imageio.mimread(path, memtest=False)
            if not frames:
                continue
            fig, ax = plt.subplots()
            ax.set_axis_off()
            ax.set_title(f"{title} {path.stem}".strip())
            image = ax.imshow(frames[0])
            for frame in frames[1:]:
                if not plt.fignum_exists(fig.number):
                    break  # the user closed the window: skip to the next video
                image.set_data(frame)
                plt.pause(1.0 / fps)
            plt.close(fig)
            shown += 1
    except Exception as exc:  # noqa: BLE001 - see docstring
        log.warning("--visualize: could not show the videos (%s); they are in %s", exc,
                    video_dir)
    return shown
