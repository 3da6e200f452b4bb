"""Same seed, same agent before and after a refactor (issue 10, "Keep behaviour").

Usage:
  python benchmarks/keep_behaviour.py --base 5de7cce            # runs both sides
  python benchmarks/keep_behaviour.py --base-dir A --head-dir B # compares runs already made
Runs `dreamlab run --env E --mode quick --seed 42` for CartPole-v1 (pixels) and
LunarLander-v3 (state) from a worktree of the base commit and from this checkout, with the
same venv, and compares the controller's parameters, V's and M's weights and the
evaluation returns bit for bit. CMA-ES runs --generations (30) with no wall-clock
budget on both sides, so that the load cannot move where it stops. Both sides must run
on the same machine: a seed reproduces a run on one CPU, not across CPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import git_commit, save_result

ROOT = Path(__file__).resolve().parent.parent
ENVS = {"cartpole": "CartPole-v1", "lunar": "LunarLander-v3"}


def run_side(src_root: Path, out: Path, time_budgets: bool = False,
             envs: dict[str, str] = ENVS, generations: int = 0) -> None:
    """Quick runs of each env from one source tree. CMA-ES's wall-clock budget is lifted
    unless asked for: where a generation ends on a loaded CPU must not decide the result.
    Without the clock CartPole's quick preset runs up to 500 generations (it stops at 495
    or 6 minutes), so `generations` caps them instead: the same count on both sides."""
    env = dict(os.environ, PYTHONPATH=str(src_root / "src"))
    extra = [] if time_budgets else ["--cma-max-minutes", "0"]
    if generations:
        extra += ["--cma-generations", str(generations)]
    for name, env_id in envs.items():
        subprocess.run([sys.executable, "-m", "dreamlab", "run", "--env", env_id, "--mode",
                        "quick", "--seed", "42", "--checkpoint-dir", str(out / name), *extra],
                       cwd=src_root, env=env, check=True, capture_output=True)


def compare(base: Path, head: Path, envs: dict[str, str] = ENVS) -> dict:
    import torch

    rows = {}
    for name, env_id in envs.items():
        a = json.loads((base / name / "evaluation_results.json").read_text())
        b = json.loads((head / name / "evaluation_results.json").read_text())
        row = {"env": env_id, "base_mean": a["mean_return"], "base_std": a["std_return"],
               "head_mean": b["mean_return"], "head_std": b["std_return"],
               "episodes": len(b["returns"]), "returns_equal": a["returns"] == b["returns"]}
        for f, key in (("controller_best.pt", "params"), ("mdnrnn.pt", "state_dict"),
                       ("vae.pt", "state_dict")):
            pa, pb = base / name / f, head / name / f
            if not pa.exists():
                continue
            ta = torch.load(pa, weights_only=True)[key]
            tb = torch.load(pb, weights_only=True)[key]
            same = (torch.equal(ta, tb) if isinstance(ta, torch.Tensor)
                    else all(torch.equal(ta[k], tb[k]) for k in ta))
            row[f"{f}_equal"] = same
        rows[name] = row
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", help="commit to compare against")
    parser.add_argument("--base-dir", type=Path)
    parser.add_argument("--head-dir", type=Path)
    parser.add_argument("--base-commit", default=None, help="with --base-dir: its commit")
    parser.add_argument("--head-commit", default=None, help="with --head-dir: its commit")
    parser.add_argument("--time-budgets", action="store_true",
                        help="keep the quick presets' CMA-ES minutes (load-dependent)")
    parser.add_argument("--generations", type=int, default=30,
                        help="CMA-ES generations on both sides (0: each preset's own; "
                        "CartPole's 500 without the clock: 30 min or more)")
    parser.add_argument("--name", default="keep_behaviour", help="results file name")
    parser.add_argument("--envs", default=",".join(ENVS),
                        help=f"comma-separated subset of {', '.join(ENVS)} (a shorter check)")
    args = parser.parse_args()
    chosen = args.envs.split(",")
    unknown = set(chosen) - set(ENVS)
    if unknown:
        parser.error(f"unknown --envs {', '.join(sorted(unknown))}: use {', '.join(ENVS)}")
    envs = {k: v for k, v in ENVS.items() if k in chosen}
    if args.base_dir and args.head_dir:
        base_dir, head_dir = args.base_dir, args.head_dir
        base_commit, head_commit = args.base_commit, args.head_commit
        rows = compare(base_dir, head_dir, envs)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "base"
            subprocess.run(["git", "worktree", "add", "-q", str(tree), args.base], cwd=ROOT,
                           check=True)
            try:
                for side, root in (("base_runs", tree), ("head_runs", ROOT)):
                    run_side(root, Path(tmp) / side, args.time_budgets, envs,
                             args.generations)
                rows = compare(Path(tmp) / "base_runs", Path(tmp) / "head_runs", envs)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
        base_commit, head_commit = args.base, git_commit()
    same = all(all(v for k, v in r.items() if k.endswith("_equal")) for r in rows.values())
    result = {"base_commit": base_commit, "head_commit": head_commit, "runs": rows,
              "identical": same, "cma_time_budgets": args.time_budgets,
              "cma_generations": (None if args.base_dir and args.head_dir  # not run here
                                  else args.generations or "preset")}
    print(json.dumps(result, indent=2))
    print(f"wrote {save_result(args.name, result)}")


if __name__ == "__main__":
    main()
