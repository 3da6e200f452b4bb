"""Shared helpers of the benchmark scripts: where results go and what machine made them."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    """The CPU's model name: a seed reproduces a run on one CPU model, not across them."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_head() -> str:
    """HEAD of the checkout the benchmark runs from ("unknown" outside git)."""
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def git_commit() -> str:
    """git_head() with '+dirty' when tracked files have local changes."""
    import subprocess

    head = git_head()
    if head == "unknown":
        return head
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=REPO, capture_output=True, text=True).stdout.strip()
    return head + ("+dirty" if dirty else "")


def provenance(load_before: tuple[float, ...] | list[float]) -> dict[str, Any]:
    """The timing benchmarks' own header: HEAD, CPU, usable CPUs, load before and after
    (their figures move with the load, so it sits beside them) and numpy's version."""
    import numpy as np

    return {"git_head": git_head(), "cpu_model": cpu_model(),
            "cpus_usable": len(os.sched_getaffinity(0)),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "numpy": np.__version__}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "commit": git_commit(),
        "load_avg_at_save": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


# A results name is a file name: a slash or a leading dot in `--name` would write outside
# benchmarks/results/ (or over a hidden file), where no table looks for it.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def save_result(name: str, payload: dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json with the command and machine beside the figures."""
    if not _NAME.fullmatch(name):
        raise SystemExit(f"results name {name!r} is not a plain file name: use letters, "
                         "digits, '_', '-' and '.', without a slash")
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": machine(),
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(portable_paths(json.dumps(payload, indent=2)) + "\n")
    return path


def portable_paths(text: str) -> str:
    """The checkout's own absolute path becomes '.', the temp dir '$TMPDIR' and the home
    '~': a results file is committed, and where this machine keeps things means nothing on
    another (a command line such as `--checkpoint-dir /tmp/x` would carry it)."""
    roots = [(str(REPO), "."), (tempfile.gettempdir(), "$TMPDIR"),
             (str(Path.home()), "~")]
    for root, short in sorted(roots, key=lambda r: -len(r[0])):  # the longest root first
        if root not in ("", "/"):
            text = re.sub(re.escape(root) + r"(?=[/\"\s]|$)", lambda _, s=short: s, text)
    return text


def finished_runs_parser(doc: str | None, count: str = "--episodes", default: int = 100,
                         count_help: str = "games per run") -> argparse.ArgumentParser:
    """The command line of the benchmarks that replay finished Rocket League hours: the run
    dirs, how many games (or kickoffs) each, and the results file's name, required because
    those JSONs are named after the runs they judge. Scripts add their own flags to it."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("run_dirs", type=Path, nargs="+")
    parser.add_argument(count, type=int, default=default, help=count_help)
    parser.add_argument("--name", required=True, help="results file name")
    return parser


def us_per_step_alternating(labels: list[str], run_round: Any, steps: int,
                            rounds: int) -> dict[str, float]:
    """Microseconds per step of each label's `run_round(label)` (which takes `steps`
    steps), the labels' rounds interleaved (A, B, A, B, ...) so that the VM's drift over
    the run falls on every label alike: the side-by-side timing of the cost benchmarks."""
    seconds = dict.fromkeys(labels, 0.0)
    for _ in range(rounds):
        for label in labels:
            start = time.perf_counter()
            run_round(label)
            seconds[label] += time.perf_counter() - start
    return {k: round(v / (steps * rounds) * 1e6, 1) for k, v in seconds.items()}


def random_play_us_per_step(envs: dict[str, Any], steps: int, rounds: int
                            ) -> tuple[dict[str, float], dict[str, int]]:
    """us_per_step_alternating over Rocket League envs, every car on a uniformly random
    lookup-table action (each env its own seeded generator), a game reset when it ends:
    microseconds per env step of each env, and how many games each began."""
    import numpy as np

    games = dict.fromkeys(envs, 0)
    rngs = {label: np.random.default_rng(0) for label in envs}
    for env in envs.values():
        env.reset(seed=0)

    def run_round(label: str) -> None:
        env, rng = envs[label], rngs[label]
        for _ in range(steps):
            if not env.agents:
                games[label] += 1
                env.reset()
            acts = rng.integers(0, 90, len(env.agents))
            env.step(dict(zip(env.agents, acts, strict=True)))

    return us_per_step_alternating(list(envs), run_round, steps, rounds), games


def mean_and_sample_std(values: list[float], digits: int) -> dict[str, float]:
    """Mean and sample std (n - 1) of a few seeds' figures, rounded; one value has std 0.
    The Rocket League benchmarks report this; spread_over_seeds (World Models) the
    population std."""
    return {"mean": round(statistics.mean(values), digits),
            "std": round(statistics.stdev(values), digits) if len(values) > 1 else 0.0}


def spread_over_seeds(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, spread and minimum of the seeds' mean_return (runs that failed have none):
    a seed reproduces a run on one CPU model only, so the spread is the figure that travels.
    One seed has no spread (None, not 0)."""
    scores = [r["mean_return"] for r in rows if "mean_return" in r]
    return {
        "mean_over_seeds": round(statistics.mean(scores), 1) if scores else None,
        "std_over_seeds": round(statistics.pstdev(scores), 1) if len(scores) > 1 else None,
        "min_over_seeds": min(scores) if scores else None,
    }
