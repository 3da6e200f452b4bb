"""`--mode quick` on envs no preset names, from pixels: each must finish in <= 5 minutes
on the 2-core CPU (issue 10, item 7). The load average is recorded beside the times.

Usage: python benchmarks/quick_any_env.py [--envs Acrobot-v1,MountainCar-v0,Pendulum-v1]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from pipeline_quick import run_env

from _common import save_result

DEFAULT_ENVS = "Acrobot-v1,MountainCar-v0,Pendulum-v1"
LIMIT_S = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", default=DEFAULT_ENVS)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for env in args.envs.split(","):
            load_before = os.getloadavg()
            row = run_env(env, Path(tmp), ["--obs", "pixels"])
            row["load_avg_before"] = list(load_before)
            row["load_avg_after"] = list(os.getloadavg())
            row["within_5_min"] = row["returncode"] == 0 and row["wall_s"] <= LIMIT_S
            print(json.dumps(row, indent=2), flush=True)
            rows.append(row)
    path = save_result("quick_any_env", {"limit_s": LIMIT_S, "runs": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
