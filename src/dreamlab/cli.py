"""The `dreamlab` command: run, envs, doctor (and the commands of later issues).

Flags of `run` are generated from WorldModelConfig, so a new field is a new flag with
the same name (`num_random_rollouts` <-> `--num-random-rollouts`). Every error a user
can cause is one line with a hint and exit code 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from pathlib import Path
from typing import Any

from dreamlab.config import WorldModelConfig, field_types, parse_bool_flag, resolve_config
from dreamlab.errors import DreamlabError

log = logging.getLogger("dreamlab")

# Help strings for the flags a new user reaches for first (seeds/002 and seeds/000).
HELP = {
    "env": "Gymnasium id; old ids (CarRacing-v2, PongNoFrameskip-v4) are mapped",
    "mode": "preset: quick (minutes on a CPU), medium, full (paper scale)",
    "stage": "'all' or a comma list of collect,vae,encode,mdnrnn,controller,eval",
    "checkpoint_dir": "run directory (default runs/<env>_worldmodel)",
    "obs": "pixels or state observations (auto: the env's own, CartPole: pixels)",
    "train_in_dream": "train C in M's dream (else in the real env)",
    "temperature": "dream temperature tau (paper section 4.4)",
    "max_disk_gb": "refuse or stop collection beyond this many GB (0: free space)",
    "data_ram_gb": "RAM budget of the streaming data loaders",
    "vae_img_size": "32 or 64 px frames for V",
    "controller_inputs": "zh: C reads [z, h] (paper); z: z only (the V-only ablation)",
    "standardize_z": "C reads z standardised by the collected episodes' mean and std",
    "eval_point": "periodic evaluations score the generation's best candidate or CMA's mean",
    "cma_max_minutes": "stop CMA-ES after this many minutes (0: no limit)",
    "fitness_max_steps": "cap real-env training rollouts at N steps (0: the episode limit)",
    "no_progress_steps": "end a training rollout after N steps without a positive reward",
    "iterations": "passes of collect-with-C, refit V and M, retrain C (paper section 5)",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"dreamlab: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def add_config_flags(parser: argparse.ArgumentParser, cls: type = WorldModelConfig,
                     skip: tuple[str, ...] = ()) -> None:
    """One flag per config field; default None so only flags actually given override."""
    for name, typ in field_types(cls).items():
        if name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        default = getattr(cls, name, None)
        help_text = f"{HELP.get(name, '')} [default {default}]".strip()
        if typ is bool:
            # --amp, --amp true, --amp False and --no-amp all work (seeds/000 wrote `--amp True`).
            parser.add_argument(flag, type=parse_bool_flag, nargs="?", const=True, default=None,
                                help=help_text, metavar="BOOL")
            parser.add_argument("--no-" + name.replace("_", "-"), dest=name,
                                action="store_false", help=argparse.SUPPRESS)
        else:
            parser.add_argument(flag, type=typ, default=None, help=help_text,
                                metavar=typ.__name__.upper())


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dreamlab", description="Agents that learn a model of their world.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="train a World Models agent end to end (6 stages)")
    run.add_argument("--config", type=str, default=None, help="YAML file of config values")
    run.add_argument("--resume", type=str, default=None, metavar="DIR",
                     help="continue the run in DIR (its saved config is the base)")
    add_config_flags(run, skip=("debug",))

    sub.add_parser("envs", help="list environments and which extra installs the rest")
    sub.add_parser("doctor", help="show device, CUDA, AMP/TF32, CPUs and free disk")
    from dreamlab.curriculum.commands import register as register_curriculum

    COMMANDS.update(register_curriculum(sub))
    return parser


def _overrides(args: argparse.Namespace, cls: type = WorldModelConfig) -> dict[str, Any]:
    return {name: getattr(args, name) for name in field_types(cls) if
            getattr(args, name, None) is not None}


def resolve_run_config(args: argparse.Namespace) -> WorldModelConfig:
    from dreamlab.envs import resolve_env_id

    overrides = _overrides(args)
    yaml_path = args.config
    if args.resume:
        run_dir = Path(args.resume)
        saved = run_dir / "config.yaml"
        if not saved.exists():
            raise DreamlabError(f"--resume {run_dir}: no config.yaml there",
                                "pass the run directory that `dreamlab run` created")
        overrides.setdefault("checkpoint_dir", str(run_dir))
        if yaml_path is None:
            yaml_path = str(saved)
    # Resolve an old env id once, so presets and the run dir use today's name.
    if "env" in overrides:
        overrides["env"] = resolve_env_id(overrides["env"])
    elif yaml_path:
        from dreamlab.config import load_yaml

        env = load_yaml(yaml_path).get("env")
        if env:
            overrides["env"] = resolve_env_id(env)
    overrides["debug"] = bool(args.debug)
    return resolve_config(mode=overrides.get("mode", "quick"), yaml_path=yaml_path,
                          overrides=overrides)


def cmd_run(args: argparse.Namespace) -> int:
    from dreamlab.report.console import print_config, print_run_summary
    from dreamlab.worldmodels.pipeline import Pipeline

    cfg = resolve_run_config(args)
    pipeline = Pipeline(cfg)
    pipeline.preflight()  # a bad env or run dir is one line, not a config table and a line
    print_config(cfg, title=f"dreamlab run ({cfg.mode}): {cfg.env}")
    rows = pipeline.run()
    print_run_summary(pipeline.paths, rows)
    return 0


def cmd_envs(args: argparse.Namespace) -> int:
    from dreamlab.report.console import print_envs

    print_envs()
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from dreamlab.report.console import print_doctor

    print_doctor()
    return 0


COMMANDS = {"run": cmd_run, "envs": cmd_envs, "doctor": cmd_doctor}


def main(argv: list[str] | None = None) -> int:
    from dreamlab.runtime.console import make_streams_safe
    from dreamlab.runtime.logger import setup_console_logging

    make_streams_safe()
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_console_logging(debug=args.debug)
    try:
        return COMMANDS[args.command](args)
    except DreamlabError as exc:
        if args.debug:
            raise
        msg = f"dreamlab: error: {exc.message}"
        if exc.hint:
            msg += f" -> {exc.hint}"
        sys.stderr.write(msg + "\n")
        return exc.exit_code
    except OSError as exc:
        # A full disk outside the atomic writers (an index append, a log line) is still
        # the user's to fix, not a bug: one line, and the run resumes once space is freed.
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or args.debug:
            raise
        sys.stderr.write(f"dreamlab: error: disk full ({exc.strerror}) -> free some space, "
                         "then re-run the same command to resume\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("dreamlab: interrupted; re-run the same command to resume\n")
        return 130


