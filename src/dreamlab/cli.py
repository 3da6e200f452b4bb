"""The `dreamlab` command: one subcommand per algorithm, plus eval, curriculum, report,
envs and doctor.

Algorithm subcommands are generated from the table in `algorithms.py` and from each
algorithm's config class: every field is a flag of the same name
(`num_random_rollouts` <-> `--num-random-rollouts`) whose help text and default come from
the field's metadata. `dreamlab run` stays as World Models' alias (the seeds' users type
it). Nothing here imports torch until a command runs, so every `--help` is fast. Every
error a user can cause is one line with a hint and exit code 2; `--debug` shows the
traceback.
"""

from __future__ import annotations

import argparse
import errno
import inspect
import logging
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from dreamlab.algorithms import ALGORITHMS, Algorithm, available, get_algorithm
from dreamlab.config.base import field_types, load_yaml, parse_bool_flag, resolve_config
from dreamlab.errors import ConfigError, DreamlabError, rocket_only_flag

log = logging.getLogger("dreamlab")

# Flags every algorithm command has besides its config fields.
COMMON_FLAGS = ("config", "resume", "mode", "debug")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"dreamlab: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def add_config_flags(parser: argparse.ArgumentParser, cls: type,
                     skip: tuple[str, ...] = ()) -> None:
    """One flag per config field; default None so only flags actually given override.
    The help line is the field's metadata plus its default."""
    types_ = field_types(cls)
    for f in fields(cls):
        if f.name in skip:
            continue
        typ = types_[f.name]
        if typ is dict:  # a YAML-only block (PPO's rocket: and selfplay:), no flag
            continue
        flag = "--" + f.name.replace("_", "-")
        text = f.metadata.get("help", "")
        choices = f.metadata.get("choices")
        help_text = f"{text} [default {f.default}]".strip()
        if typ is bool:
            # --amp, --amp true, --amp False and --no-amp all work (seeds/000 wrote `--amp True`).
            parser.add_argument(flag, type=parse_bool_flag, nargs="?", const=True, default=None,
                                help=help_text, metavar="BOOL")
            parser.add_argument("--no-" + f.name.replace("_", "-"), dest=f.name,
                                action="store_false", help=argparse.SUPPRESS)
        else:
            metavar = "|".join(str(c) for c in choices) if choices else typ.__name__.upper()
            parser.add_argument(flag, type=typ, default=None, help=help_text, metavar=metavar)


def add_algorithm_parser(sub: Any, algo: Algorithm, name: str, help_text: str) -> None:
    cls = algo.config_class()
    p = sub.add_parser(name, help=help_text, description=f"{algo.summary}. Precedence: the "
                       "--mode preset < --config YAML < flags. Re-run the same command (or "
                       "--resume DIR) to resume.")
    p.add_argument("--config", type=str, default=None, metavar="FILE",
                   help="YAML file of config values (keys are the flag names)")
    p.add_argument("--resume", type=str, default=None, metavar="DIR",
                   help="continue the run in DIR (its saved config is the base)")
    extra = getattr(cls, "EXTRA_FLAGS", None)
    if extra is not None:  # an algorithm's aliases for its users' flags (seeds/003)
        extra(p)
    add_config_flags(p, cls)
    p.set_defaults(algorithm=algo.name)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dreamlab", description="Agents that learn a model of their world: "
                     "World Models, Dreamer and PPO.")
    # Its own dest: a subcommand's `--debug` (a config field) would otherwise overwrite it.
    parser.add_argument("--debug", dest="global_debug", action="store_true",
                        help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="COMMAND")
    for algo in available().values():
        add_algorithm_parser(sub, algo, algo.name, f"train {algo.summary}")
        for alias in algo.aliases:
            add_algorithm_parser(sub, algo, alias, f"same as `dreamlab {algo.name}`")

    ev = sub.add_parser("eval", help="evaluate a finished run of any algorithm again",
                        description="Load a run directory's final agent and evaluate it; "
                                    "writes evaluation_results.json there.")
    ev.add_argument("run_dir", metavar="RUN_DIR")
    ev.add_argument("--episodes", type=int, default=None,
                    help="evaluation episodes [default: the run's eval_episodes]")
    ev.add_argument("--save-videos", action="store_true", help="write videos to RUN_DIR/videos")
    ev.add_argument("--opponent", action="append", default=None,
                    metavar="random|chaser|SNAPSHOT",
                    help="Rocket League self-play runs only: who the learner plays: random, "
                         "chaser (a scripted ball chaser), a snapshot id of the run's pool or "
                         "a checkpoint file; comma-separated or repeated for several "
                         "[default: random]")
    ev.add_argument("--sample-actions", action="store_true", default=None,
                    help="Rocket League self-play runs only: the learner samples its actions "
                         "from its policy, as in training, instead of playing the mode")
    sub.add_parser("envs", help="list environments and which extra installs the rest")
    sub.add_parser("doctor", help="show device, CUDA, AMP/TF32, CPUs and free disk")
    from dreamlab.curriculum.commands import register as register_curriculum

    COMMANDS.update(register_curriculum(sub))
    return parser


def _overrides(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    return {name: getattr(args, name) for name in field_types(cls) if
            getattr(args, name, None) is not None}


def resolve_algorithm_config(args: argparse.Namespace, cls: type) -> Any:
    """preset < YAML (--config, or the run's saved config.yaml with --resume) < flags."""
    from dreamlab.envs import resolve_env_id

    overrides = _overrides(args, cls)
    translate = getattr(cls, "translate_flags", None)
    if translate is not None:
        overrides.update(translate(args))
    yaml_path = args.config
    file_values: dict[str, Any] | None = None
    if args.resume:
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise DreamlabError(f"--resume {run_dir}: no such run directory",
                                "pass the directory a dreamlab training command created")
        saved = run_dir / "config.yaml"
        if not saved.exists():
            raise DreamlabError(f"--resume {run_dir}: no config.yaml there",
                                "pass the run directory a dreamlab training command created")
        overrides.setdefault("checkpoint_dir", str(run_dir))
        if yaml_path is None:
            yaml_path = str(saved)
    if yaml_path:
        reader = getattr(cls, "read_yaml", None)
        file_values = reader(yaml_path) if reader else load_yaml(yaml_path, cls)
    # Resolve an old env id once, so presets and the run dir use today's name.
    if "env" in overrides:
        overrides["env"] = resolve_env_id(overrides["env"])
    elif file_values and file_values.get("env"):
        file_values["env"] = resolve_env_id(file_values["env"])
    if args.debug:
        overrides["debug"] = True
    return resolve_config(cls, mode=overrides.get("mode", "quick"), yaml_path=None,
                          overrides=overrides, file_values=file_values or {})


def resolve_run_config(args: argparse.Namespace) -> Any:
    """World Models' config from parsed `dreamlab run` flags (kept for callers and tests)."""
    return resolve_algorithm_config(args, get_algorithm("worldmodels").config_class())


def cmd_train(args: argparse.Namespace) -> int:
    from dreamlab.report.console import print_config, print_train_result

    algo = get_algorithm(args.algorithm)
    cfg = resolve_algorithm_config(args, algo.config_class())
    preflight = algo.preflight_fn()
    if preflight is not None:  # a bad env or run dir is one line, before the config table
        preflight(cfg)
    print_config(cfg, title=f"dreamlab {algo.name} ({cfg.mode}): {cfg.env}")
    result = algo.train_fn()(cfg)
    print_train_result(result)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from dreamlab.report.console import print_evaluation
    from dreamlab.runtime.rundir import read_run_algo

    run_dir = Path(args.run_dir)
    if args.episodes is not None and args.episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {args.episodes}")
    algo = get_algorithm(read_run_algo(run_dir))
    evaluate = algo.evaluate_fn()
    # Options only some algorithms take go as keywords, and only when given, so the
    # table's evaluate contract stays (run_dir, episodes, save_videos).
    options = {k: v for k, v in (("opponent", getattr(args, "opponent", None)),
                                 ("sample_actions", getattr(args, "sample_actions", None)))
               if v is not None}
    accepted = inspect.signature(evaluate).parameters
    for name in options:
        if name not in accepted:
            raise rocket_only_flag("--" + name.replace("_", "-"),
                                   f"this {algo.name} run ({run_dir})")
    result = evaluate(run_dir, args.episodes, args.save_videos, **options)
    print_evaluation(run_dir, result)
    return 0


def cmd_envs(args: argparse.Namespace) -> int:
    from dreamlab.report.console import print_envs

    print_envs()
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from dreamlab.report.console import print_doctor

    print_doctor()
    return 0


_PATH_ERRNOS = (errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENOENT, errno.EACCES,
                errno.EPERM, errno.EROFS)

COMMANDS = {"eval": cmd_eval, "envs": cmd_envs, "doctor": cmd_doctor}


def main(argv: list[str] | None = None) -> int:
    from dreamlab.runtime.console import make_streams_safe
    from dreamlab.runtime.logger import setup_console_logging

    make_streams_safe()
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(args.global_debug or getattr(args, "debug", False))
    args.debug = debug
    setup_console_logging(debug=debug)
    handler = cmd_train if getattr(args, "algorithm", None) else COMMANDS[args.command]
    try:
        return handler(args)
    except DreamlabError as exc:
        if debug:
            raise
        msg = f"dreamlab: error: {exc.message}"
        if exc.hint:
            msg += f" -> {exc.hint}"
        sys.stderr.write(msg + "\n")
        return exc.exit_code
    except OSError as exc:
        if debug:
            raise
        # A full disk outside the atomic writers (an index append, a log line) is still
        # the user's to fix, not a bug: one line, and the run resumes once space is freed.
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            sys.stderr.write(f"dreamlab: error: disk full ({exc.strerror}) -> free some "
                             "space, then re-run the same command to resume\n")
            return 2
        # A path the user gave that cannot be used (a run dir that is a file, a folder
        # with no write permission, a parent that does not exist): one line naming it.
        if exc.filename is not None and exc.errno in _PATH_ERRNOS:
            sys.stderr.write(f"dreamlab: error: {exc.strerror}: {exc.filename} -> pass a "
                             "directory you can create and write to (--debug shows where)\n")
            return 2
        raise
    except KeyboardInterrupt:
        sys.stderr.write("dreamlab: interrupted; re-run the same command to resume\n")
        return 130


__all__ = ["ALGORITHMS", "build_parser", "main", "resolve_run_config"]
