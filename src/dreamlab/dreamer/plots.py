"""Dreamer's plots, from logs/metrics.csv (so no TensorBoard is needed to read a run):
return against env steps (training episodes and evaluations), and the losses."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dreamlab.runtime.atomic import atomic_save_figure
from dreamlab.runtime.logger import read_metrics
from dreamlab.runtime.rundir import RunLayout

LOSS_TAGS = ("wm/loss", "wm/recon", "wm/kl", "ac/actor_loss", "ac/critic_loss")


def write_plots(layout: RunLayout) -> list[Path]:
    metrics = read_metrics(layout.logs)
    out = []
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for tag, label, style in (("train/episode_return", "training episodes", "."),
                              ("eval/mean_return", "evaluation mean", "o-")):
        if metrics.get(tag):
            xs, ys = zip(*metrics[tag], strict=True)
            ax.plot(xs, ys, style, label=label, alpha=0.7)
    ax.set_xlabel("env steps")
    ax.set_ylabel("return")
    ax.legend(loc="best")
    out.append(_save(fig, layout.plots / "returns.png"))
    tags = [t for t in LOSS_TAGS if metrics.get(t)]
    if tags:
        fig = Figure(figsize=(4 * len(tags), 3.2))
        for i, tag in enumerate(tags):
            ax = fig.add_subplot(1, len(tags), i + 1)
            xs, ys = zip(*metrics[tag], strict=True)
            ax.plot(xs, ys)
            ax.set_title(tag)
            ax.set_xlabel("env steps")
        out.append(_save(fig, layout.plots / "losses.png"))
    return out


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    atomic_save_figure(path, fig, dpi=110)
    return path
