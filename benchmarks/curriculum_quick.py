"""Wall time and scores of `dreamlab curriculum --curriculum NAME --mode quick` (issue 5).

Usage: python benchmarks/curriculum_quick.py [--curriculum classic]
Runs the command in a fresh directory, exactly as a user would, then reads back
results/summary.csv and lists the artifacts it wrote. Writes
benchmarks/results/curriculum_<name>_quick.json.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import save_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--curriculum", default="classic")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "curriculum"
        cmd = [sys.executable, "-m", "dreamlab", "curriculum", "--curriculum", args.curriculum,
               "--mode", "quick", "--checkpoint-dir", str(out)]
        load_before = os.getloadavg()[0]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        rows = []
        summary = out / "results" / "summary.csv"
        if summary.exists():
            with open(summary, encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    row.pop("run_dir", None)
                    rows.append(row)
        artifacts = sorted(str(p.relative_to(out)) for p in out.glob("*.json")) + sorted(
            str(p.relative_to(out)) for sub in ("results", "plots") for p in (out / sub).glob("*"))
    result = {
        "curriculum": args.curriculum,
        "returncode": proc.returncode,
        "wall_s": round(wall, 1),
        "wall_min": round(wall / 60, 2),
        "target_wall_min": 20,
        "load_1min_before": round(load_before, 2),
        "envs": rows,
        "artifacts": artifacts,
        "stderr_tail": proc.stderr[-1500:] if proc.returncode else "",
        "user_command": f"dreamlab curriculum --curriculum {args.curriculum} --mode quick",
    }
    print(f"{args.curriculum} quick: exit {proc.returncode}, {wall / 60:.1f} min")
    print(f"wrote {save_result(f'curriculum_{args.curriculum}_quick', result)}")


if __name__ == "__main__":
    main()
