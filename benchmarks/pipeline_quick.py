"""Per-stage seconds of `dreamlab run --mode quick` on CarRacing, LunarLander and Pong.

Usage: python benchmarks/pipeline_quick.py [--envs CarRacing-v3,LunarLander-v3,ALE/Pong-v5]
Each env runs in a fresh run directory under a temp folder, in a subprocess, exactly as a
user would type it; the per-stage seconds are read back from the run's manifest.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import save_result

DEFAULT_ENVS = "CarRacing-v3,LunarLander-v3,ALE/Pong-v5"


def run_env(env: str, root: Path, extra: list[str]) -> dict:
    run_dir = root / env.replace("/", "_")
    cmd = [sys.executable, "-m", "dreamlab", "run", "--env", env, "--mode", "quick",
           "--checkpoint-dir", str(run_dir), *extra]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    row: dict = {"env": env, "returncode": proc.returncode, "wall_s": round(wall, 1),
                 "command": " ".join(["dreamlab", *cmd[3:-2]])}
    if proc.returncode != 0:
        row["stderr_tail"] = proc.stderr[-2000:]
        return row
    manifest = json.loads((run_dir / "manifest.json").read_text())
    row["stages"] = {name: {"status": e["status"], "seconds": e.get("seconds")}
                     for name, e in manifest["stages"].items()}
    res = json.loads((run_dir / "evaluation_results.json").read_text())
    row["mean_return"] = res["mean_return"]
    row["std_return"] = res["std_return"]
    row["episodes"] = res["episodes"]
    row["bytes_on_disk"] = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", default=DEFAULT_ENVS)
    parser.add_argument("extra", nargs="*", help="extra flags passed to dreamlab run")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for env in args.envs.split(","):
            row = run_env(env, Path(tmp), args.extra)
            print(json.dumps(row, indent=2), flush=True)
            rows.append(row)
    path = save_result("pipeline_quick", {"runs": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
