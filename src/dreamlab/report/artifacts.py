"""Every report artifact of a set of runs, written in one call (issue 4).

The curriculum calls this after each env (so a curriculum cut off mid-way still has
up-to-date tables and plots), and `dreamlab report` calls it on any run dirs to rebuild
the same files later. Layout under the output dir:

    results/results.json        the result rows
    results/summary.csv         one row per env
    results/<env>.csv           one env's per-generation controller curve
    results/combined.csv        all curves, long format with an env column
    results/results_table.tex   LaTeX booktabs table
    plots/fitness_<env>.png, plots/losses_<env>.png, plots/summary.png
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamlab.report.collect_results import collect_run, read_history
from dreamlab.report.plots import plot_run, plot_summary, safe_name
from dreamlab.report.tables import (
    write_combined_csv,
    write_history_csv,
    write_latex_table,
    write_summary_csv,
)
from dreamlab.runtime.atomic import atomic_write_json

log = logging.getLogger("dreamlab")


@dataclass
class ReportFiles:
    rows: list[dict[str, Any]]
    files: list[Path] = field(default_factory=list)


def write_report(runs: Sequence[tuple[Path, float | None]], out_dir: str | Path,
                 default_targets: Mapping[str, float] | None = None,
                 title: str = "score against target",
                 plot_envs: Collection[str] | None = None) -> ReportFiles:
    """Collect each run dir into a row, then write the tables and plots of all of them.

    `plot_envs` limits the per-env plots to those envs (the curriculum redraws only the
    env that just finished; tables and the summary chart are always rewritten). A run dir
    that cannot be plotted (a half-written metrics file, a matplotlib error) is logged and
    left out of the plots, never allowed to stop the other envs' report.
    """
    out_dir = Path(out_dir)
    results, plots = out_dir / "results", out_dir / "plots"
    report = ReportFiles(rows=[])
    histories = []
    for run_dir, target in runs:
        row = collect_run(run_dir, target=target, default_targets=default_targets)
        history = read_history(run_dir)
        report.rows.append(row)
        histories.append((row["env"], history))
        csv_path = results / f"{safe_name(row['env'])}.csv"
        write_history_csv(history, csv_path)
        report.files.append(csv_path)
        if plot_envs is not None and row["env"] not in plot_envs:
            continue
        try:
            report.files += plot_run(history, row, plots)
        except Exception as exc:  # noqa: BLE001 - one bad plot must not hide the rest
            log.warning("could not plot %s: %s", row["env"], exc)
    atomic_write_json(results / "results.json", {"results": report.rows})
    write_summary_csv(report.rows, results / "summary.csv")
    write_combined_csv(histories, results / "combined.csv")
    write_latex_table(report.rows, results / "results_table.tex",
                      caption="World Models: evaluation return against target per environment.")
    report.files += [results / n for n in ("results.json", "summary.csv", "combined.csv",
                                           "results_table.tex")]
    if report.rows:
        report.files.append(plot_summary(report.rows, plots / "summary.png", title=title))
    return report
