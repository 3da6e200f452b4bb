"""Show the evaluation videos of a run in a window (`--visualize`, issue item 5).

seeds/001 drew its rollouts live in OpenCV windows. Here the evaluation stage records the
rollouts as mp4 (the same files `--record-video` keeps), and this plays them back with
matplotlib once the env has finished: no second renderer inside the training loop, no
OpenCV dependency, and nothing to do on a machine without a display.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("dreamlab")


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
