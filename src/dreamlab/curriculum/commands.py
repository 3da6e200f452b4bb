"""The `dreamlab curriculum` and `dreamlab report` subcommands.

`register(subparsers)` adds both to the CLI's subparsers and returns their handlers, so
cli.py wires them with one line and this package never imports cli (DESIGN.md: nothing
imports cli). Flag names follow seeds/000 and seeds/001 (`--max-generations`,
`--episodes-per-eval`, `--visualize False`, `--checkpoint-dir`), which their users typed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from dreamlab.config import MODES, coerce, field_types, parse_bool_flag
from dreamlab.config.base import EXECUTORS
from dreamlab.errors import ConfigError, DreamlabError

Handler = Callable[[argparse.Namespace], int]


def _bool_flag(parser: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    """`--visualize`, `--visualize True`, `--visualize false` and `--no-visualize`."""
    dest = flag.lstrip("-").replace("-", "_")
    parser.add_argument(flag, type=parse_bool_flag, nargs="?", const=True, default=False,
                        metavar="BOOL", help=help_text)
    parser.add_argument("--no-" + flag.lstrip("-"), dest=dest, action="store_false",
                        help=argparse.SUPPRESS)


def register(subparsers: Any) -> dict[str, Handler]:
    """Add `curriculum` and `report` to `subparsers`; return {command: handler}."""
    cur = subparsers.add_parser(
        "curriculum", help="train World Models on a sequence of envs (full, classic, YAML)",
        description="Train World Models on each env of a curriculum in turn, with targets, "
                    "early stopping, snapshots and a report. Re-run to resume.")
    cur.add_argument("--curriculum", default="classic", metavar="NAME|FILE",
                     help="full (Pong, LunarLander, Breakout, CarRacing), classic (Pong, "
                          "Breakout, CartPole, Acrobot) or a YAML file [default classic]")
    cur.add_argument("--mode", choices=MODES, default="quick",
                     help="preset for every env [default quick]")
    cur.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                     help="[default auto]")
    cur.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                     help="curriculum dir [default runs/curriculum_<name>]")
    cur.add_argument("--patience", type=int, default=30,
                     help="stop the controller after this many generations without a better "
                          "evaluation [default 30]")
    cur.add_argument("--max-generations", type=int, default=None,
                     help="CMA-ES generations per env at most [default: the mode preset]")
    cur.add_argument("--eval-every", type=int, default=None,
                     help="evaluate and snapshot every N generations [default: preset]")
    cur.add_argument("--episodes-per-eval", type=int, default=None,
                     help="episodes per evaluation, periodic and final [default: preset]")
    _bool_flag(cur, "--visualize", "show evaluation rollouts in a window (needs a display)")
    _bool_flag(cur, "--record-video", "save evaluation rollouts as mp4 in each run dir")
    cur.add_argument("--seed", type=int, default=None, help="[default 42]")
    cur.add_argument("--parallel-envs", type=int, default=1, metavar="N",
                     help="train up to N envs of the curriculum at once, through --executor "
                          "[default 1: one after another]")
    cur.add_argument("--executor", choices=EXECUTORS, default="local",
                     help="where --parallel-envs runs the envs: local processes, inline "
                          "(this process) or ray [default local]; each env's own parallel "
                          "work follows its config (--set executor=...)")
    cur.add_argument("--ray-address", default=None, metavar="auto|HOST:PORT",
                     help="with --executor ray: the cluster [default: a local Ray]")
    cur.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="a config value for every env, e.g. --set num_random_rollouts=50 "
                          "(repeatable)")

    rep = subparsers.add_parser(
        "report", help="rebuild tables and plots from run or curriculum dirs",
        description="Write CSV, LaTeX and plots from run dirs (`dreamlab run`) or curriculum "
                    "dirs (`dreamlab curriculum`).")
    rep.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    rep.add_argument("--out", default=None, metavar="DIR",
                     help="output dir [default: the one dir given, else runs/report]")
    return {"curriculum": cmd_curriculum, "report": cmd_report}


def parse_sets(items: list[str]) -> dict[str, Any]:
    """`--set key=value` pairs into typed config values (YAML scalars, type-checked)."""
    types_ = field_types()
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        name = key.strip().replace("-", "_")
        if not sep or not name:
            raise ConfigError(f"--set {item!r} is not KEY=VALUE", "e.g. --set vae_epochs=2")
        if name not in types_:
            raise ConfigError(f"--set: unknown config key {key!r}",
                              "see `dreamlab run --help` for the keys")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: cannot read the value") from exc
        out[name] = coerce(name, value, types_[name], "--set")
    return out


def cmd_curriculum(args: argparse.Namespace) -> int:
    from dreamlab.curriculum.runner import CurriculumOptions, run_curriculum
    from dreamlab.curriculum.spec import RESERVED_OVERRIDES, load_curriculum

    spec = load_curriculum(args.curriculum)
    overrides = parse_sets(args.set)
    reserved = sorted(set(overrides) & set(RESERVED_OVERRIDES))
    if reserved:
        raise ConfigError(f"--set {reserved[0]} is set by the curriculum per env",
                          "use a YAML curriculum to change it")
    if args.device is not None:
        overrides["device"] = args.device
    if args.seed is not None:
        overrides["seed"] = args.seed
    options = CurriculumOptions(
        mode=args.mode, patience=args.patience, max_generations=args.max_generations,
        eval_every=args.eval_every, episodes_per_eval=args.episodes_per_eval,
        visualize=args.visualize, record_video=args.record_video, overrides=overrides)
    if args.ray_address and args.executor != "ray":
        raise ConfigError(f"--ray-address needs --executor ray, got --executor {args.executor}",
                          "add --executor ray")
    if args.parallel_envs < 1:
        raise ConfigError(f"--parallel-envs must be >= 1, got {args.parallel_envs}")
    out_dir = Path(args.checkpoint_dir or Path("runs") / f"curriculum_{spec.name}")
    _print_plan(spec, out_dir, options)
    result = run_curriculum(spec, out_dir, options, parallel_envs=args.parallel_envs,
                            executor=args.executor, ray_address=args.ray_address)
    _print_rows(result.rows, f"curriculum {spec.name}: results")
    _print_files(out_dir)
    return 1 if result.count("failed") else 0


def cmd_report(args: argparse.Namespace) -> int:
    from dreamlab.curriculum.runner import STATE_NAME, refresh_curriculum_results
    from dreamlab.curriculum.spec import DEFAULT_TARGETS
    from dreamlab.report.artifacts import write_report
    from dreamlab.report.collect_results import expand_run_dirs

    runs = expand_run_dirs(args.run_dirs)
    if not runs:
        raise DreamlabError(
            f"no run directories in {', '.join(args.run_dirs)}",
            "pass dirs made by `dreamlab run` (with manifest.json) or `dreamlab curriculum`")
    single = len(args.run_dirs) == 1
    out_dir = Path(args.out or (args.run_dirs[0] if single else Path("runs") / "report"))
    if single and (Path(args.run_dirs[0]) / STATE_NAME).exists() and args.out is None:
        rows = refresh_curriculum_results(out_dir)
    else:
        rows = write_report(runs, out_dir, default_targets=DEFAULT_TARGETS).rows
    _print_rows(rows, "report")
    _print_files(out_dir)
    return 0


def _print_plan(spec: Any, out_dir: Path, options: Any) -> None:
    from rich.table import Table

    from dreamlab.envs import check_available
    from dreamlab.runtime.console import get_console, table_box

    table = Table(title=f"dreamlab curriculum {spec.name} ({options.mode}) -> {out_dir}",
                  box=table_box())
    for col in ("#", "env", "target", "obs", "max gen", "available"):
        table.add_column(col)
    for i, e in enumerate(spec.entries, start=1):
        try:
            check_available(e.env_id)
            available = "yes"
        except DreamlabError as exc:
            available = f"no: {exc.hint}"
        gens = options.max_generations or e.max_generations or "preset"
        table.add_row(str(i), e.env_id, f"{e.target:g}", e.obs, str(gens), available)
    get_console().print(table)


def _print_rows(rows: list[dict[str, Any]], title: str) -> None:
    from rich.table import Table

    from dreamlab.report.tables import format_wall_time
    from dreamlab.runtime.console import get_console, table_box

    def num(value: Any) -> str:
        return "-" if value is None else f"{value:.1f}"

    table = Table(title=title, box=table_box())
    for col in ("env", "status", "target", "best", "final eval", "gens", "stop", "time"):
        table.add_column(col)
    for r in rows:
        final = "-" if r.get("final_mean") is None else (
            f"{r['final_mean']:.1f} +- {r.get('final_std') or 0.0:.1f}")
        table.add_row(str(r.get("env")), str(r.get("status", "")), num(r.get("target")),
                      num(r.get("best_eval_mean")), final, str(r.get("generations") or "-"),
                      str(r.get("stop_reason") or "-"), format_wall_time(r.get("wall_time_s")))
    get_console().print(table)
    for r in rows:
        if r.get("reason"):
            get_console().print(f"{r['env']}: {r['status']}: {r['reason']}")


def _print_files(out_dir: Path) -> None:
    from dreamlab.runtime.console import get_console

    console = get_console()
    for name in ("curriculum_results.json", "results", "plots"):
        if (out_dir / name).exists():
            console.print(f"{name + ':':26s}{out_dir / name}")
