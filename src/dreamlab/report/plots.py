"""Plots a person reads after a run: fitness curves, V and M losses, score against target.

Drawn with matplotlib's object API on the Agg canvas, never pyplot: no display is needed,
no global figure state leaks between calls, and the backend chosen by anyone else (a
`--visualize` window, a notebook) is left alone. Every figure is saved with a tight
bounding box so labels and legends are never clipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from dreamlab.config.base import safe_env_name
from dreamlab.report.collect_results import RunHistory
from dreamlab.runtime.atomic import atomic_save_figure

DPI = 120
# Rates and counters share the vae/ and mdnrnn/ prefixes but are not losses.
_NOT_LOSSES = ("per_s", "images", "episodes", "lr", "batch", "epoch")


safe_name = safe_env_name  # the one env id -> file name mapping (config/base.py)


def agg_figure(figsize: tuple[float, float], dpi: int = 100) -> Figure:
    """A figure on its own Agg canvas: no pyplot state, no global backend switch, so a
    `--visualize` window (pyplot, interactive backend) still opens after training
    (issue 10: `matplotlib.use("Agg")` in a stage had silently made it Agg)."""
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    FigureCanvasAgg(fig)
    atomic_save_figure(path, fig, dpi=DPI, pad_inches=0.15)
    return path


def _xy(points: Sequence[tuple[int, float]]) -> tuple[list[int], list[float]]:
    return [p[0] for p in points], [p[1] for p in points]


def _eval_points(history: RunHistory) -> tuple[list[int], list[float], list[float]]:
    """Evaluation means and stds per generation, from metrics.csv or else the snapshots."""
    means = dict(history.curve("controller/eval_mean"))
    stds = dict(history.curve("controller/eval_std"))
    for snap in history.snapshots:
        gen = int(snap["generation"])
        if gen not in means and snap.get("eval_mean") is not None:
            means[gen] = float(snap["eval_mean"])
            stds[gen] = float(snap.get("eval_std") or 0.0)
    gens = sorted(means)
    return gens, [means[g] for g in gens], [stds.get(g, 0.0) for g in gens]


def plot_fitness(history: RunHistory, env_id: str, target: float | None,
                 path: str | Path) -> Path:
    """CMA-ES fitness per generation with the periodic real-env evaluations marked.

    Training fitness is the return the candidates earned where they were trained (the dream
    by default), evaluations are real-env returns: both are drawn so a gap between them,
    the sign of a controller exploiting its dream (paper section 4.4), is visible.
    """
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    best = history.curve("controller/fitness_best")
    mean = history.curve("controller/fitness_mean")
    few = max(len(best), len(mean)) <= 15
    if best:
        ax.plot(*_xy(best), label="best candidate (training fitness)", color="tab:blue",
                marker="." if few else None)
    if mean:
        ax.plot(*_xy(mean), label="population mean (training fitness)", color="tab:blue",
                alpha=0.45, linestyle="--", marker="." if few else None)
    gens, means, stds = _eval_points(history)
    if gens:
        ax.errorbar(gens, means, yerr=stds, fmt="o", color="tab:orange", capsize=4,
                    markersize=6, label="evaluation, real env (mean ± std)", zorder=3)
    if target is not None:
        ax.axhline(target, color="tab:green", linestyle=":", linewidth=1.8,
                   label=f"target ({target:g})")
    if not (best or mean or gens):
        ax.text(0.5, 0.5, "no controller generations logged yet", ha="center", va="center",
                transform=ax.transAxes)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no generation 2.5
    ax.set_xlabel("CMA-ES generation")
    ax.set_ylabel("episode return")
    ax.set_title(f"{env_id}: controller fitness")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def _loss_tags(history: RunHistory, prefix: str) -> list[str]:
    return [t for t in history.tags(prefix) if not any(w in t for w in _NOT_LOSSES)]


def _loss_panel(ax: Any, history: RunHistory, prefix: str, title: str, empty: str) -> None:
    tags = _loss_tags(history, prefix)
    values: list[float] = []
    for tag in tags:
        xs, ys = _xy(history.curve(tag))
        values += ys
        ax.plot(xs, ys, label=tag.split("/", 1)[1], marker="." if len(xs) <= 15 else None)
    if tags:
        # Reconstruction and KL differ by orders of magnitude; a log axis keeps both
        # readable, but only when every value is positive (an NLL can be negative).
        finite = [v for v in values if math.isfinite(v)]
        if finite and min(finite) > 0 and max(finite) / min(finite) > 50:
            ax.set_yscale("log")
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes,
                fontsize=9, wrap=True)
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.grid(True, alpha=0.3)


def plot_losses(history: RunHistory, env_id: str, path: str | Path,
                uses_vae: bool = True) -> Path:
    """V (ConvVAE) and M (MDN-RNN) training losses side by side."""
    fig = Figure(figsize=(10.0, 4.0))
    ax_v, ax_m = fig.subplots(1, 2)
    _loss_panel(ax_v, history, "vae/", "V: ConvVAE",
                "no VAE losses logged" if uses_vae
                else "no VAE: state observations\n(z is the normalised state)")
    _loss_panel(ax_m, history, "mdnrnn/", "M: MDN-RNN", "no MDN-RNN losses logged")
    fig.suptitle(f"{env_id}: world model losses")
    fig.tight_layout()
    return _save(fig, path)


def plot_summary(rows: Sequence[dict[str, Any]], path: str | Path,
                 title: str = "score against target") -> Path:
    """One small panel per env (their scales differ by 100x): best and final evaluation
    against the env's target, green where the final evaluation reached it."""
    n = max(1, len(rows))
    cols = min(n, 4)
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(3.2 * cols + 0.6, 3.3 * nrows + 0.6))
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, row in zip(axes, rows, strict=False):
        best, final = row.get("best_eval_mean"), row.get("final_mean")
        target = row.get("target")
        color = "tab:green" if row.get("reached_target") else "tab:blue"
        # Points, not bars: returns are often negative (Acrobot, Pong), and a bar hanging
        # from zero down to -500 reads as "large" rather than "bad".
        if best is not None:
            ax.plot([0], [best], marker="D", markersize=8, linestyle="none", color=color,
                    label="best eval")
        if final is not None:
            ax.errorbar([1], [final], yerr=[row.get("final_std") or 0.0], fmt="o",
                        markersize=8, capsize=6, color=color, label="final eval ± std")
        if target is not None:
            ax.axhline(target, color="tab:red", linestyle="--", label=f"target {target:g}")
        if best is None and final is None:
            ax.text(0.5, 0.5, str(row.get("status", "no result")), ha="center",
                    va="center", transform=ax.transAxes)
        ax.set_xlim(-0.6, 1.6)
        ax.set_xticks([0, 1], ["best eval", "final eval"])
        ax.margins(y=0.15)
        ax.set_title(str(row.get("env", "?")), fontsize=10)
        ax.set_ylabel("episode return")
        ax.grid(True, axis="y", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
    for ax in axes[len(rows):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_returns(history: RunHistory, env_id: str, target: float | None,
                 path: str | Path) -> Path:
    """A step trainer's returns against env steps: training episodes and evaluations."""
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    xs, ys = _xy(history.curve("train/episode_return"))
    if xs:
        ax.plot(xs, ys, ".", alpha=0.35, markersize=3, label="training episodes")
    xs, ys = _xy(history.curve("eval/mean_return"))
    if xs:
        ax.plot(xs, ys, "o-", label="evaluation mean")
    if target is not None:
        ax.axhline(target, color="tab:red", linestyle="--", label=f"target {target:g}")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(f"{env_id}: return")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def plot_step_losses(history: RunHistory, env_id: str, path: str | Path) -> Path:
    """Every logged loss of a step trainer (tags with "loss" in their name)."""
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    tags = [t for t in sorted(history.metrics) if "loss" in t]
    for tag in tags:
        xs, ys = _xy(history.curve(tag))
        ax.plot(xs, ys, label=tag, linewidth=0.9)
    if tags:
        ax.legend(loc="best", fontsize=7)
    else:
        ax.text(0.5, 0.5, "no losses logged", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("env steps")
    ax.set_ylabel("loss")
    ax.set_title(f"{env_id}: losses")
    ax.grid(True, alpha=0.3)
    return _save(fig, path)


def plot_run(history: RunHistory, row: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """The plots of one run, named after its env: from what its algorithm records."""
    out_dir = Path(out_dir)
    env_id = str(row.get("env"))
    name = safe_name(env_id)
    if row.get("algo", "worldmodels") != "worldmodels":
        return [plot_returns(history, env_id, row.get("target"),
                             out_dir / f"returns_{name}.png"),
                plot_step_losses(history, env_id, out_dir / f"losses_{name}.png")]
    return [
        plot_fitness(history, env_id, row.get("target"), out_dir / f"fitness_{name}.png"),
        plot_losses(history, env_id, out_dir / f"losses_{name}.png",
                    uses_vae=row.get("obs") != "state"),
    ]
