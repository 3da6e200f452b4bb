"""Plots render without a display and hold what a reader needs (labels, legend)."""

from __future__ import annotations

import numpy as np
from matplotlib.image import imread

from dreamlab.report.artifacts import write_report
from dreamlab.report.collect_results import RunHistory, collect_run, read_history
from dreamlab.report.plots import plot_fitness, plot_losses, plot_summary

from .fake_runs import write_fake_run


def _png_ok(path) -> None:
    image = imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 300
    assert float(np.std(image)) > 0.01  # not a blank canvas


def test_fitness_loss_and_summary_plots(tmp_path) -> None:
    run = write_fake_run(tmp_path / "r", "ALE/Pong-v5", obs="pixels")
    history = read_history(run)
    row = collect_run(run, target=18.0)
    _png_ok(plot_fitness(history, "ALE/Pong-v5", 18.0, tmp_path / "f.png"))
    _png_ok(plot_losses(history, "ALE/Pong-v5", tmp_path / "l.png"))
    _png_ok(plot_summary([row, {**row, "env": "X", "target": -100.0}], tmp_path / "s.png"))


def test_empty_history_still_plots(tmp_path) -> None:
    _png_ok(plot_fitness(RunHistory(), "CartPole-v1", None, tmp_path / "f.png"))
    _png_ok(plot_losses(RunHistory(), "CartPole-v1", tmp_path / "l.png", uses_vae=False))
    _png_ok(plot_summary([{"env": "A", "status": "skipped"}], tmp_path / "s.png"))


def test_write_report_writes_every_artifact(tmp_path) -> None:
    runs = [(write_fake_run(tmp_path / "p", "ALE/Pong-v5", obs="pixels"), 18.0),
            (write_fake_run(tmp_path / "c", "CartPole-v1"), None)]
    out = tmp_path / "out"
    report = write_report(runs, out, default_targets={"CartPole-v1": 475.0})
    assert [r["target"] for r in report.rows] == [18.0, 475.0]
    names = {p.relative_to(out).as_posix() for p in report.files}
    assert {"results/results.json", "results/summary.csv", "results/combined.csv",
            "results/results_table.tex", "results/ALE_Pong-v5.csv", "results/CartPole-v1.csv",
            "plots/fitness_ALE_Pong-v5.png", "plots/losses_CartPole-v1.png",
            "plots/summary.png"} <= names
    assert all(p.exists() for p in report.files)
