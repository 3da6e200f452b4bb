"""benchmarks/dreamer_learning.py's wall time of a run resumed across sessions: the time it
trained, not the hours it lay stopped between its parts."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "dreamer_learning.py"


def load():
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("dreamer_learning", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stopped_time_is_left_out(tmp_path: Path) -> None:
    rows = ["time,tag,step,value"]
    # two rows per step share a time; a 2-hour stop between 2k and 3k steps
    for t, step in ((1000.0, 1000), (1120.0, 2000), (8320.0, 3000), (8440.0, 4000)):
        rows += [f"{t},perf/sps,{step},10.0", f"{t},perf/rss_mb,{step},500.0"]
    (tmp_path / "metrics.csv").write_text("\n".join(rows) + "\n")
    assert load().active_wall_s(tmp_path) == 240.0
    assert load().active_wall_s(tmp_path / "missing") is None
