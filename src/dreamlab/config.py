"""Typed configuration: every default of the World Models pipeline lives here.

A preset (quick / medium / full) is a set of values, not a code path. Precedence is
preset < YAML file (--config) < command-line flags. Field names match the flags
(`num_random_rollouts` <-> `--num-random-rollouts`), and validation sits next to the
fields it checks. Unknown YAML keys and wrong types are ConfigError, one line each.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from dreamlab.errors import ConfigError

MODES = ("quick", "medium", "full")
STAGES = ("collect", "vae", "encode", "mdnrnn", "controller", "eval")


@dataclass
class WorldModelConfig:
    """World Models pipeline settings (Ha & Schmidhuber 2018; flags of seeds/002, seeds/000)."""

    # --- run -----------------------------------------------------------------------
    env: str = "CartPole-v1"
    mode: str = "quick"
    device: str = "auto"  # auto | cpu | cuda
    stage: str = "all"  # all | comma list of STAGES
    checkpoint_dir: str | None = None  # default runs/<env>_worldmodel
    seed: int = 42
    num_threads: int = 0  # 0: chosen from the CPU count (see runtime.device)
    debug: bool = False

    # --- env -----------------------------------------------------------------------
    obs: str = "auto"  # auto | pixels | state; auto: pixels unless the env is state-only
    max_episode_steps: int = 0  # 0: the env's own limit
    frame_skip: int = 1  # action repeat applied by make_env

    # --- collect -------------------------------------------------------------------
    num_random_rollouts: int = 200
    collect_workers: int = 0  # 0: one per CPU, at most 4
    max_disk_gb: float = 0.0  # 0: only the free space limits collection

    # --- V: ConvVAE ----------------------------------------------------------------
    vae_img_size: int = 64
    z_dim: int = 32
    vae_epochs: int = 1
    vae_batch: int = 64
    vae_lr: float = 1e-3
    kl_tolerance: float = 0.5  # free bits per latent dim, as in the paper's code
    kl_weight: float = 1.0
    grad_accum_steps: int = 1
    amp: bool = True  # used only on CUDA
    tf32: bool = True  # used only on CUDA
    data_ram_gb: float = 2.0  # RAM budget of the streaming loaders
    loader_workers: int = 0

    # --- M: MDN-RNN ----------------------------------------------------------------
    mdnrnn_epochs: int = 2
    mdnrnn_hidden: int = 256
    mdnrnn_gaussians: int = 5
    mdnrnn_seq_len: int = 32
    mdnrnn_batch: int = 32
    mdnrnn_lr: float = 1e-3
    done_pos_weight: float = 10.0  # done events are rare; weight them (notes/cartpole)
    # M learns on V's posterior samples (paper's code) or on V's mean. The agent reads V's
    # mean in the real env, so with samples the dream shows C noise in every latent dim V
    # leaves unused (sigma ~ 1 there, mu ~ 0 in reality): measured on CartPole pixels, a
    # linear C scoring 500 in reality survived ~25 steps in such a dream.
    mdnrnn_sample_z: bool = False

    # --- C: controller + CMA-ES ----------------------------------------------------
    cma_pop_size: int = 8
    cma_generations: int = 5
    cma_sigma0: float = 0.1
    rollouts_per_candidate: int = 2
    train_in_dream: bool = True
    temperature: float = 1.15  # tau > 1 makes the dream harder to exploit (paper 4.4)
    dream_max_steps: int = 500
    done_threshold: float = 0.5
    eval_every: int = 10  # generations between evaluations of the best candidate
    eval_rollouts: int = 16  # rollouts used by those periodic evaluations
    real_finetune_s: float = 0.0  # seconds of real-env CMA-ES after dream training
    iterations: int = 1  # paper section 5: collect with C, refit V and M, retrain C
    iteration_rollouts: int = 0  # episodes collected with C per later iteration (0: as random)
    explore_noise: float = 0.1  # those episodes' exploration: random-action prob / action std
    controller_hidden: int = 0  # 0: linear C on [z, h] as in the paper
    # "zh": C reads [z, h] (paper). "z": C reads z only, the paper's V-only ablation
    # (section 3.4): far fewer parameters, so CMA-ES converges in a CPU budget.
    controller_inputs: str = "zh"
    # Training-time cuts of real-env fitness rollouts (the eval stage runs whole episodes):
    # cap their length (0: --max-episode-steps) and end one after this many steps in a row
    # without a positive reward (0: never). On CarRacing most early candidates leave the
    # road within ~100 steps and would spend the rest of 1000 rendered steps at -0.1 each.
    fitness_max_steps: int = 0
    no_progress_steps: int = 0
    # Wall-clock cap on CMA-ES (0: none): training stops after the generation that spends
    # it, evaluates, and the pipeline goes on. A CPU preset can then promise its budget.
    cma_max_minutes: float = 0.0
    # Which controller the periodic evaluations score (and controller_best.pt may keep):
    # "best", the generation's top candidate (paper), or "mean", CMA-ES's mean. With noisy
    # returns (LunarLander's random terrain and wind) the top candidate is often a lucky
    # draw; the mean is pycma's own estimate of the optimum under noise (xfavorite).
    eval_point: str = "best"
    # C reads z standardised by its mean and std over the collected episodes (ES practice):
    # CMA-ES starts isotropic, so badly scaled inputs cost it many generations.
    standardize_z: bool = False

    # --- eval ----------------------------------------------------------------------
    eval_episodes: int = 10
    save_videos: bool = False

    def __post_init__(self) -> None:
        self.validate()

    # Validation lives next to the fields (STYLE.md); one ConfigError per problem.
    def validate(self) -> None:
        _choice("mode", self.mode, MODES)
        _choice("device", self.device, ("auto", "cpu", "cuda"))
        _choice("obs", self.obs, ("auto", "pixels", "state"))
        _choice("controller_inputs", self.controller_inputs, ("zh", "z"))
        _choice("eval_point", self.eval_point, ("best", "mean"))
        self.stages()  # raises on unknown names
        if self.vae_img_size not in (32, 64):
            raise ConfigError(
                f"--vae-img-size must be 32 or 64, got {self.vae_img_size}",
                "use 64 (paper) or 32 (a quarter of the disk and RAM)",
            )
        for name in (
            "num_random_rollouts", "z_dim", "vae_batch", "grad_accum_steps", "mdnrnn_hidden",
            "mdnrnn_gaussians", "mdnrnn_seq_len", "mdnrnn_batch", "cma_pop_size",
            "rollouts_per_candidate", "dream_max_steps", "eval_episodes", "eval_every",
            "eval_rollouts", "iterations", "frame_skip",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{_flag(name)} must be >= 1, got {getattr(self, name)}")
        for name in (
            "vae_epochs", "mdnrnn_epochs", "cma_generations", "max_episode_steps",
            "collect_workers", "loader_workers", "num_threads", "controller_hidden",
            "max_disk_gb", "real_finetune_s", "iteration_rollouts", "explore_noise",
            "fitness_max_steps", "no_progress_steps", "cma_max_minutes",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{_flag(name)} must be >= 0, got {getattr(self, name)}")
        for name in ("vae_lr", "mdnrnn_lr", "cma_sigma0", "temperature", "data_ram_gb"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{_flag(name)} must be > 0, got {getattr(self, name)}")
        if self.cma_pop_size < 2:
            raise ConfigError("--cma-pop-size must be >= 2 (CMA-ES needs a population)")
        if not 0.0 < self.done_threshold < 1.0:
            raise ConfigError(f"--done-threshold must be in (0, 1), got {self.done_threshold}")

    def stages(self) -> list[str]:
        if self.stage.strip() == "all":
            return list(STAGES)
        names = [s.strip() for s in self.stage.split(",") if s.strip()]
        unknown = [s for s in names if s not in STAGES]
        if unknown or not names:
            raise ConfigError(
                f"unknown stage {', '.join(unknown) or '(empty)'} in --stage",
                f"use 'all' or a comma list of: {', '.join(STAGES)}",
            )
        return [s for s in STAGES if s in names]  # always in pipeline order

    def run_dir(self) -> Path:
        if self.checkpoint_dir:
            return Path(self.checkpoint_dir)
        safe = self.env.replace("/", "_").replace(":", "_")
        return Path("runs") / f"{safe}_worldmodel"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Presets: quick finishes in minutes on a 2-core CPU; full is the paper's scale.
# quick keeps seeds/002's collection and epoch counts but gives CMA-ES enough
# generations to learn in the (cheap, batched) dream; see README "Presets".
PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(
        num_random_rollouts=200, vae_epochs=1, mdnrnn_epochs=2, cma_pop_size=8,
        cma_generations=5, rollouts_per_candidate=2, eval_episodes=10,
    ),
    "medium": dict(
        num_random_rollouts=1000, vae_epochs=5, mdnrnn_epochs=10, cma_pop_size=32,
        cma_generations=100, rollouts_per_candidate=8, eval_episodes=100,
    ),
    "full": dict(
        num_random_rollouts=10000, vae_epochs=10, mdnrnn_epochs=20, cma_pop_size=64,
        cma_generations=800, rollouts_per_candidate=16, eval_episodes=100, eval_every=25,
        eval_rollouts=1024 // 16, mdnrnn_seq_len=999, mdnrnn_batch=100, vae_batch=100,
        vae_lr=1e-4,
    ),
}


# Per-env values layered on the mode preset (still below --config and flags). They are
# what each env needs for its mode to be meaningful on a 2-core CPU: CartPole is learnt
# from pixels (the default agent), long Atari and CarRacing episodes are capped in quick.
# CartPole from pixels trains C on the real env's return, the paper's CarRacing procedure
# (section 3): a dream learnt from ~22-step random episodes was exploited at every done
# threshold and temperature tried (dream 150-450, real 17-40), while CMA-ES on the real
# return of the same linear C on [z, h] reached ~470 in 30 generations (the 100-episode
# figure is benchmarks/results/learning_cartpole_pixels.json).
ENV_PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    ("CartPole-v1", "quick"): dict(
        obs="pixels", vae_epochs=6, mdnrnn_epochs=20, cma_pop_size=16, cma_generations=20,
        rollouts_per_candidate=2, eval_every=5, eval_rollouts=8, eval_episodes=20,
        mdnrnn_hidden=128, train_in_dream=False,
    ),
    ("CartPole-v1", "medium"): dict(obs="pixels"),
    ("CartPole-v1", "full"): dict(obs="pixels"),
    ("ALE/Pong-v5", "quick"): dict(num_random_rollouts=20, max_episode_steps=300),
    ("ALE/Breakout-v5", "quick"): dict(num_random_rollouts=20, max_episode_steps=300),
    # LunarLander medium is configs/experiments/lunarlander_state.yaml (a test keeps the
    # two equal): C linear on standardised z, trained on the real return for <= 40 min.
    ("LunarLander-v3", "medium"): dict(
        obs="state", num_random_rollouts=200, mdnrnn_epochs=10, mdnrnn_hidden=64,
        train_in_dream=False, controller_inputs="z", standardize_z=True, eval_point="mean",
        cma_pop_size=32, cma_sigma0=0.5, rollouts_per_candidate=8, cma_generations=400,
        cma_max_minutes=40, eval_every=10, eval_rollouts=32,
    ),
    # Pong medium sized for about an hour on a 2-core CPU (the generic medium's 1,000
    # full-length rollouts would take V most of a day there): whole games, C on
    # standardised z trained on the real return, CMA-ES capped at 25 minutes.
    ("ALE/Pong-v5", "medium"): dict(
        num_random_rollouts=40, vae_epochs=3, mdnrnn_epochs=5, train_in_dream=False,
        controller_inputs="z", standardize_z=True, eval_point="mean", cma_pop_size=16,
        rollouts_per_candidate=1, cma_generations=200, cma_max_minutes=25, eval_every=5,
        eval_rollouts=4,
    ),
    ("CarRacing-v3", "quick"): dict(num_random_rollouts=16, max_episode_steps=200,
                                    dream_max_steps=200),
}


def env_preset(env_id: str, mode: str) -> dict[str, Any]:
    return dict(ENV_PRESETS.get((env_id, mode), {}))


def parse_bool_flag(text: str) -> bool:
    """`--amp True`, `--amp false`, `--amp 1` (seeds/000 wrote `--amp True`)."""
    import argparse

    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{_flag(name)} must be one of {', '.join(allowed)}, got {value!r}")


def field_types(cls: type = WorldModelConfig) -> dict[str, type]:
    """The concrete type of each field (Optional[X] -> X), for YAML and flag parsing."""
    hints = typing.get_type_hints(cls)
    out: dict[str, type] = {}
    for f in fields(cls):
        t = hints[f.name]
        if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
            t = next(a for a in typing.get_args(t) if a is not type(None))
        out[f.name] = t
    return out


def coerce(name: str, value: Any, expected: type, source: str) -> Any:
    """Check a YAML value's type; ints are accepted for floats, nothing else is converted."""
    if value is None and name == "checkpoint_dir":
        return None
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"{source}: {name} must be true or false, got {value!r}")
    if expected is not bool and isinstance(value, bool):
        raise ConfigError(f"{source}: {name} must be {expected.__name__}, got {value!r}")
    if not isinstance(value, expected):
        raise ConfigError(
            f"{source}: {name} must be {expected.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def load_yaml(path: str | Path, cls: type = WorldModelConfig) -> dict[str, Any]:
    """Read a YAML file of config values; unknown keys and wrong types are ConfigError."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys, got {type(data).__name__}")
    types_ = field_types(cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in types_:
            close = _close_names(name, list(types_))
            raise ConfigError(
                f"{path}: unknown key {key!r}",
                f"did you mean {close}?" if close else "see `dreamlab run --help` for the keys",
            )
        out[name] = coerce(name, value, types_[name], str(path))
    return out


def _close_names(name: str, names: list[str]) -> str:
    import difflib

    return ", ".join(difflib.get_close_matches(name, names, n=3, cutoff=0.6))


def resolve_config(
    mode: str = "quick",
    yaml_path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    cls: type = WorldModelConfig,
) -> Any:
    """Merge preset < YAML file < flags into a validated config."""
    file_values = load_yaml(yaml_path, cls) if yaml_path else {}
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    mode = overrides.get("mode", file_values.get("mode", mode))
    _choice("mode", mode, MODES)
    values: dict[str, Any] = {}
    if cls is WorldModelConfig:
        values.update(PRESETS.get(mode, {}))
        env = overrides.get("env", file_values.get("env", WorldModelConfig.env))
        values.update(env_preset(env, mode))
    values.update(file_values)
    values.update(overrides)
    values["mode"] = mode
    return cls(**values)


def config_hash_fields() -> tuple[str, ...]:
    """Fields that change what V and M learn: a run dir made with other values is
    incompatible (issue 6). Controller and eval settings may change on resume."""
    return ("env", "obs", "vae_img_size", "z_dim", "frame_skip", "mdnrnn_hidden",
            "mdnrnn_gaussians")


