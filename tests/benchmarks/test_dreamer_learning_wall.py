"""benchmarks/dreamer_learning.py's wall time of a run resumed across sessions: the time it
trained, not the hours it lay stopped between its parts."""

from pathlib import Path


def test_stopped_time_is_left_out(benchmark_script, tmp_path: Path) -> None:
    bench = benchmark_script("dreamer_learning")
    rows = ["time,tag,step,value"]
    # two rows per step share a time; a 2-hour stop between 2k and 3k steps
    for t, step in ((1000.0, 1000), (1120.0, 2000), (8320.0, 3000), (8440.0, 4000)):
        rows += [f"{t},perf/sps,{step},10.0", f"{t},perf/rss_mb,{step},500.0"]
    rows.append("8500.0,perf/s")  # torn by a kill mid-write: not a row, not a time
    (tmp_path / "metrics.csv").write_text("\n".join(rows) + "\n")
    assert bench.active_wall_s(tmp_path) == 240.0
    assert bench.active_wall_s(tmp_path / "missing") is None
