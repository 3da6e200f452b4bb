"""plots/return.png and plots/sps.png of a PPO run, drawn from logs/metrics.csv.

matplotlib's object API on the Agg canvas (never pyplot or `matplotlib.use`), written
atomically, like report/plots.py.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dreamlab.runtime.atomic import atomic_save_figure
from dreamlab.runtime.logger import read_metrics


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    atomic_save_figure(path, fig, dpi=120)
    return path


def plot_run(log_dir: Path, plot_dir: Path, env_id: str) -> list[Path]:
    """Return curve (training episodes and evaluations) and throughput against env steps."""
    metrics = read_metrics(log_dir)
    out = []
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    for tag, label, style in (("train/episode_return", "training episodes (mean per "
                               "rollout)", "-"), ("eval/mean_return", "evaluation", "o-")):
        points = metrics.get(tag, [])
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], style, label=label,
                    markersize=4, alpha=0.9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no finished episodes logged yet", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(f"{env_id}: PPO return")
    ax.grid(True, alpha=0.3)
    plot_dir.mkdir(parents=True, exist_ok=True)
    out.append(_save(fig, plot_dir / "return.png"))

    fig = Figure(figsize=(7.0, 3.6))
    ax = fig.add_subplot()
    for tag, label in (("perf/sps", "env steps/s (interval)"),
                       ("perf/sps_overall", "env steps/s (overall)")):
        points = metrics.get(tag, [])
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], label=label)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel("env steps")
    ax.set_ylabel("steps per second")
    ax.set_title(f"{env_id}: PPO throughput")
    ax.grid(True, alpha=0.3)
    out.append(_save(fig, plot_dir / "sps.png"))
    return out
