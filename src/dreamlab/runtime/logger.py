"""One logging surface for library code: console + TensorBoard + CSV (STYLE.md).

Stages call `logger.scalar("vae/loss", value, step)`; the run's logger writes it to
TensorBoard (logs/) and to metrics.csv, which the report package reads to draw plots
without TensorBoard. Console messages go through the standard `logging` module under
the "dreamlab" name, rendered by rich.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from dreamlab.runtime.console import get_console

log = logging.getLogger("dreamlab")


def setup_console_logging(debug: bool = False) -> None:
    from rich.logging import RichHandler

    root = logging.getLogger("dreamlab")
    root.handlers.clear()
    handler = RichHandler(console=get_console(), show_path=False, markup=False,
                          rich_tracebacks=debug, omit_repeated_times=False,
                          log_time_format="%H:%M:%S")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False


class RunLogger:
    """Scalars, images and videos of one run. TensorBoard is optional at import time so
    that a missing or broken TensorBoard never stops training."""

    def __init__(self, log_dir: str | Path, enabled: bool = True) -> None:
        self.log_dir = Path(log_dir)
        self.enabled = enabled
        self._tb: Any = None
        self._csv_file: Any = None
        self._csv: Any = None
        if enabled:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.log_dir))
            except Exception as exc:  # noqa: BLE001 - tensorboard is a nice-to-have
                log.warning("TensorBoard logging disabled: %s", exc)
            path = self.log_dir / "metrics.csv"
            new = not path.exists()
            self._csv_file = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115
            self._csv = csv.writer(self._csv_file)
            if new:
                self._csv.writerow(["time", "tag", "step", "value"])

    def scalar(self, tag: str, value: float, step: int) -> None:
        if not self.enabled:
            return
        value = float(value)
        if self._tb is not None:
            self._tb.add_scalar(tag, value, step)
        self._csv.writerow([f"{time.time():.3f}", tag, step, f"{value:.6g}"])
        self._csv_file.flush()

    def scalars(self, values: dict[str, float], step: int, prefix: str = "") -> None:
        for k, v in values.items():
            self.scalar(f"{prefix}{k}", v, step)

    def images(self, tag: str, images_nhwc_uint8: np.ndarray, step: int) -> None:
        if self._tb is not None and len(images_nhwc_uint8):
            self._tb.add_images(tag, images_nhwc_uint8, step, dataformats="NHWC")

    def video(self, tag: str, frames_thwc_uint8: np.ndarray, step: int, fps: int = 30) -> None:
        """An animated GIF in TensorBoard's image tab. torch's add_video needs moviepy 1.x
        (`moviepy.editor`); imageio, already a dependency, encodes the same GIF."""
        if self._tb is None or not len(frames_thwc_uint8):
            return
        try:
            import imageio.v3 as iio
            from tensorboard.compat.proto.summary_pb2 import Summary

            frames = np.ascontiguousarray(frames_thwc_uint8)
            gif = iio.imwrite("<bytes>", frames, extension=".gif", duration=1000 / fps, loop=0)
            _, h, w, c = frames.shape
            image = Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=gif)
            summary = Summary(value=[Summary.Value(tag=tag, image=image)])
            self._tb._get_file_writer().add_summary(summary, step)
        except Exception as exc:  # noqa: BLE001 - a video is never worth a failed run
            log.debug("video not logged to TensorBoard: %s", exc)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.flush()
            self._tb.close()
            self._tb = None
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = None


def _metric_rows(log_dir: str | Path) -> Iterator[tuple[str, str, int, float]]:
    """metrics.csv's rows as (time, tag, step, value), rows torn by a kill mid-write (a
    step or value that does not parse) left out; nothing when there is no file."""
    path = Path(log_dir) / "metrics.csv"
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                step, value = int(row["step"]), float(row["value"])
            except (KeyError, ValueError, TypeError):
                continue
            yield row["time"], row["tag"], step, value


def read_metrics(log_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.csv back as {tag: [(step, value), ...]} (later rows win for a repeated step,
    so a resumed stage does not draw its overlap twice)."""
    out: dict[str, dict[int, float]] = {}
    for _, tag, step, value in _metric_rows(log_dir):
        out.setdefault(tag, {})[step] = value
    return {tag: sorted(d.items()) for tag, d in out.items()}


def metric_times(log_dir: str | Path) -> list[float]:
    """The distinct wall-clock times (s since the epoch) of metrics.csv's whole rows,
    sorted: the gaps between them tell how long a run resumed across sessions trained."""
    return sorted({float(t) for t, _, _, _ in _metric_rows(log_dir)})
