"""Wall time of `make run` on a fresh clone, setup included (issue 2: at most 10 minutes).

Usage: python benchmarks/make_run.py
Clones this repository into a temp folder, runs `make run` there (which builds .venv from
nothing and trains the default agent, CartPole-v1 from pixels, quick mode), and reads back
evaluation_results.json. Writes benchmarks/results/make_run.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _common import save_result

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "dreamlab"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        load_before = os.getloadavg()[0]
        t0 = time.monotonic()
        proc = subprocess.run(["make", "run"], cwd=clone, capture_output=True, text=True)
        wall = time.monotonic() - t0
        run_dir = clone / "runs" / "CartPole-v1_worldmodel"
        result: dict = {"returncode": proc.returncode, "wall_s": round(wall, 1),
                        "wall_min": round(wall / 60, 2), "target_wall_min": 10,
                        "load_1min_before": round(load_before, 2)}
        manifest = run_dir / "manifest.json"
        if manifest.exists():
            stages = json.loads(manifest.read_text())["stages"]
            result["stages_s"] = {k: v.get("seconds") for k, v in stages.items()}
            result["pipeline_s"] = round(sum(v.get("seconds") or 0 for v in stages.values()), 1)
        evaluation = run_dir / "evaluation_results.json"
        if evaluation.exists():
            res = json.loads(evaluation.read_text())
            result.update({k: res[k] for k in ("env_id", "episodes", "mean_return",
                                               "std_return")})
            result["dream_mean_return"] = res.get("dream_mean_return")
        if proc.returncode:
            result["stderr_tail"] = proc.stderr[-1500:]
    print(json.dumps(result, indent=2))
    print(f"wrote {save_result('make_run', result)}")


if __name__ == "__main__":
    main()
