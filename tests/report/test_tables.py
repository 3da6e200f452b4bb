"""CSV and LaTeX tables: a paper can include the .tex as it is (no TeX on CI, so the
structure is checked instead of compiling it)."""

from __future__ import annotations

import csv

from dreamlab.report.collect_results import ROW_FIELDS, collect_run, read_history
from dreamlab.report.tables import (
    format_wall_time,
    history_rows,
    latex_escape,
    latex_table,
    write_combined_csv,
    write_history_csv,
    write_summary_csv,
)

from .fake_runs import write_fake_run


def _rows(tmp_path):
    a = collect_run(write_fake_run(tmp_path / "a", "ALE/Pong-v5", obs="pixels",
                                   stop_reason="patience"), target=18.0)
    b = collect_run(write_fake_run(tmp_path / "b", "CartPole-v1", final=(480.0, 9.5),
                                   stop_reason="target"), target=475.0)
    c = collect_run(write_fake_run(tmp_path / "c", "Acrobot-v1"), target=-100.0)
    return [a, b, c]


def test_latex_table_is_booktabs_with_one_row_per_env(tmp_path) -> None:
    rows = _rows(tmp_path)
    rows[0]["env"] = "my_env & co"  # user-supplied text must be escaped
    tex = latex_table(rows, caption="Scores & targets_1")
    assert "\\begin{tabular}{lrrrrll}" in tex and "\\end{tabular}" in tex
    top, mid, bottom = (tex.index(k) for k in ("\\toprule", "\\midrule", "\\bottomrule"))
    assert top < mid < bottom
    body = tex[mid:bottom].splitlines()[1:]
    assert len([line for line in body if line.endswith("\\\\")]) == len(rows)
    header = tex[top:mid].splitlines()[1]
    assert header.count("&") == 6 and all(line.count(" & ") == 6 for line in body)
    assert "my\\_env \\& co" in tex and "Scores \\& targets\\_1" in tex
    # No bare specials left in cells: every other & separates columns, every _ is escaped.
    for line in body:
        bare = line.replace("\\&", "").replace("\\_", "")
        assert bare.count("&") == 6 and "_" not in bare
    assert "$480.0 \\pm 9.5$" in tex
    assert "yes (target)" in tex and "yes (patience)" in tex and " no " in tex


def test_latex_escape_handles_every_special() -> None:
    assert latex_escape("a_b&c%d$e#f{g}h~i^j\\k") == (
        "a\\_b\\&c\\%d\\$e\\#f\\{g\\}h\\textasciitilde{}i\\textasciicircum{}j"
        "\\textbackslash{}k")


def test_missing_values_show_as_dashes() -> None:
    tex = latex_table([{"env": "X-v0", "target": None, "wall_time_s": None}])
    row = [line for line in tex.splitlines() if line.startswith("X-v0")][0]
    assert row.count("--") >= 5


def test_summary_and_history_csvs(tmp_path) -> None:
    rows = _rows(tmp_path)
    write_summary_csv(rows, tmp_path / "summary.csv")
    with open(tmp_path / "summary.csv", encoding="utf-8") as f:
        read = list(csv.DictReader(f))
    assert [r["env"] for r in read] == ["ALE/Pong-v5", "CartPole-v1", "Acrobot-v1"]
    assert list(read[0]) == list(ROW_FIELDS)
    assert read[1]["early_stopped"] == "True" and read[1]["reached_target"] == "True"

    history = read_history(tmp_path / "a")
    hist = history_rows(history)
    assert [h["generation"] for h in hist] == [0, 1, 2, 3, 4]
    assert hist[0]["eval_mean"] == 10.0 and "eval_mean" not in hist[1]
    write_history_csv(history, tmp_path / "pong.csv")
    write_combined_csv([("a", history), ("b", read_history(tmp_path / "b"))],
                       tmp_path / "combined.csv")
    with open(tmp_path / "combined.csv", encoding="utf-8") as f:
        combined = list(csv.DictReader(f))
    assert len(combined) == 10 and {r["env"] for r in combined} == {"a", "b"}


def test_wall_time_is_human() -> None:
    assert format_wall_time(42) == "42 s"
    assert format_wall_time(750) == "12.5 min"
    assert format_wall_time(3 * 3600) == "3.0 h"
