"""PPO settings (Schulman et al. 2017; seeds/003's trainer, its YAML and its flags).

Every default of `dreamlab ppo` lives here with its help text and bounds, and so do its
presets. Names follow CleanRL where it has one (`num_steps`, `clip_coef`, `ent_coef`) and
Stable-Baselines3's meaning of `batch_size` (the minibatch of one gradient step, which
must divide the rollout `num_envs * num_steps`).

seeds/003 kept a nested YAML (`training:`, `inference:`, `logging:`) and the flags
`--timesteps`, `--logdir`, `--debug`; `read_yaml`, `EXTRA_FLAGS` and `translate_flags`
map them onto these fields, so the seed's own file still loads. This module must not
import torch: `dreamlab --help` reads it.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from dreamlab.config.base import RunConfig, check_values, close_names, opt, read_yaml_mapping
from dreamlab.errors import ConfigError

log = logging.getLogger("dreamlab")

WEBHOOK_ENV_VAR = "DREAMLAB_WEBHOOK_URL"
DEBUG_STEPS = 1_000  # seeds/003: `--debug` runs 1,000 timesteps

# quick: minutes on a 2-core CPU; full: the budgets of the PPO paper's Atari runs (10M).
MODE_PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(total_steps=100_000),
    "medium": dict(total_steps=1_000_000, eval_episodes=20),
    "full": dict(total_steps=10_000_000, eval_episodes=100),
}

# rl-baselines3-zoo's tuned CartPole-v1 settings (ppo.yml): the benchmark against SB3
# runs both with them, and they reach 500 within 100k steps.
_CARTPOLE = dict(num_envs=8, num_steps=32, batch_size=256, num_epochs=20, gamma=0.98,
                 gae_lambda=0.8, ent_coef=0.0, learning_rate=1e-3, anneal_lr=True,
                 anneal_clip=True)
# rl-zoo's LunarLander-v3 settings (n_envs 16, n_steps 1024, batch 64, 4 epochs,
# gamma 0.999, lambda 0.98, ent 0.01, 1M steps), kept as they are.
_LUNAR = dict(num_envs=16, num_steps=1024, batch_size=64, num_epochs=4, gamma=0.999,
              gae_lambda=0.98, ent_coef=0.01, learning_rate=3e-4, anneal_lr=False)
# CleanRL's ppo_atari.py: 8 envs x 128 steps, 4 minibatches, 4 epochs, lr 2.5e-4 annealed,
# clip 0.1, ent 0.01, rewards clipped to their sign (Mnih et al. 2015).
_ATARI = dict(num_envs=8, num_steps=128, batch_size=256, num_epochs=4, learning_rate=2.5e-4,
              clip_coef=0.1, ent_coef=0.01, reward_sign=True, policy="cnn")

ENV_PRESETS: dict[tuple[str, str], dict[str, Any]] = {}
for _mode in ("quick", "medium", "full"):
    ENV_PRESETS[("CartPole-v1", _mode)] = dict(_CARTPOLE)
    ENV_PRESETS[("LunarLander-v3", _mode)] = dict(_LUNAR)
    for _game in ("ALE/Pong-v5", "ALE/Breakout-v5"):
        ENV_PRESETS[(_game, _mode)] = dict(_ATARI)
ENV_PRESETS[("LunarLander-v3", "quick")]["total_steps"] = 1_000_000

# The seed's nested YAML (seeds/003, configs/base.yaml): section -> {its key: our field}.
# `batch_size` there is the samples of one PPO update; see _seed_values for the rollout.
SEED_KEYS: dict[str, dict[str, str]] = {
    "training": {"num_envs": "num_envs", "total_timesteps": "total_steps",
                 "batch_size": "batch_size", "learning_rate": "learning_rate"},
    "inference": {"device": "device"},
    "logging": {"log_dir": "checkpoint_dir", "save_interval": "checkpoint_every"},
}
# Read by the Rocket League self-play trainer (its own issue); accepted, not used here.
SEED_HANDED_ON = {("training", "selfplay")}

# Fields a resumed run must share with its checkpoint: they fix the network's shapes and
# the meaning of its inputs.
COMPATIBLE_FIELDS = ("env", "obs", "frame_skip", "policy", "hidden_size", "hidden_layers",
                     "activation", "norm_obs")


@dataclass
class PPOConfig(RunConfig):
    """Proximal Policy Optimization with GAE on Gymnasium vector envs."""

    ALGO: ClassVar[str] = "ppo"
    RUN_SUFFIX: ClassVar[str] = "ppo"
    MODE_PRESETS: ClassVar[dict[str, dict[str, Any]]] = MODE_PRESETS
    ENV_PRESETS: ClassVar[dict[tuple[str, str], dict[str, Any]]] = ENV_PRESETS

    # --- budget and vector envs -------------------------------------------------------
    total_steps: int = opt(100_000, "env steps to train for, over all envs (alias "
                           "--timesteps)", low=1)
    num_envs: int = opt(8, "envs stepped together in one vector env", low=1)
    vectorization: str = opt("auto", "native: the env's own vectorised class (CartPole, "
                             "Atari); sync: one process; async: a process per env; auto: "
                             "native where there is one, else sync",
                             choices=("auto", "native", "sync", "async"))
    num_steps: int = opt(128, "steps per env per rollout (rollout = num_envs * num_steps)",
                         low=1)
    env_workers: int = opt(0, "with --executor ray: Ray actors the envs are split over, "
                           "each stepping its slice as a sync vector env (0: the cluster's "
                           "CPUs, at most --num-envs)", low=0)

    # --- the PPO update (paper section 5, Algorithm 1) ---------------------------------
    batch_size: int = opt(256, "samples per gradient step; must divide the rollout", low=1)
    num_epochs: int = opt(10, "passes over each rollout", low=1)
    learning_rate: float = opt(3e-4, "Adam learning rate", above=0)
    anneal_lr: bool = opt(True, "anneal the learning rate linearly to 0")
    gamma: float = opt(0.99, "discount factor", low=0, high=1)
    gae_lambda: float = opt(0.95, "GAE lambda (Schulman et al. 2016)", low=0, high=1)
    clip_coef: float = opt(0.2, "clip range epsilon of the surrogate objective", above=0)
    anneal_clip: bool = opt(False, "anneal the clip range linearly to 0 (rl-zoo's lin_0.2)")
    clip_vloss: bool = opt(False, "clip the value update to the clip range as well")
    norm_adv: bool = opt(True, "normalise advantages per minibatch")
    ent_coef: float = opt(0.0, "entropy bonus weight", low=0)
    vf_coef: float = opt(0.5, "value loss weight", low=0)
    max_grad_norm: float = opt(0.5, "clip the global gradient norm (0: off)", low=0)
    target_kl: float = opt(0.0, "stop the epochs early past this approximate KL (0: off)",
                           low=0)

    # --- normalisation ---------------------------------------------------------------
    norm_obs: bool = opt(False, "normalise observations by running mean and std")
    norm_reward: bool = opt(False, "scale rewards by the running std of the discounted "
                            "return")
    clip_obs: float = opt(10.0, "clip normalised observations to +-this", above=0)
    clip_reward: float = opt(10.0, "clip scaled rewards to +-this", above=0)
    reward_sign: bool = opt(False, "learn from the sign of each reward (Atari)")

    # --- the network -----------------------------------------------------------------
    policy: str = opt("auto", "mlp, cnn (Nature CNN on 84x84x4 frames), auto: cnn for "
                      "image observations", choices=("auto", "mlp", "cnn"))
    hidden_size: int = opt(64, "units per hidden layer of the MLP actor and critic", low=1)
    hidden_layers: int = opt(2, "hidden layers of the MLP actor and critic", low=1)
    activation: str = opt("tanh", "MLP activation", choices=("tanh", "relu"))

    # --- operations (seeds/003) --------------------------------------------------------
    checkpoint_every: int = opt(250_000, "env steps between checkpoints (one is also "
                                "written on exit)", low=1)
    keep_checkpoints: int = opt(2, "newest checkpoints kept", low=1)
    eval_every: int = opt(0, "env steps between evaluations during training (0: only at "
                          "the end)", low=0)
    log_every_s: float = opt(10.0, "seconds between perf lines on the console", above=0)
    webhook_url: str | None = opt(None, "Discord-compatible webhook for start, checkpoint, "
                                  f"finish and crash (or ${WEBHOOK_ENV_VAR}); never saved")

    # --- Rocket League self-play (env: rocket; issue 13), YAML only ----------------------
    rocket: dict | None = opt(None, "env: rocket only: the Rocket League env block "
                              "(dreamlab.envs.rocket.RocketEnvConfig; YAML only)")
    selfplay: dict | None = opt(None, "env: rocket only: opponent pool, ratings and team-size "
                                "curriculum (dreamlab.ppo.selfplay.SelfPlayConfig; YAML only)")

    # --- the seed's flags (cli.py's EXTRA_FLAGS / translate_flags hooks) --------------------
    @staticmethod
    def EXTRA_FLAGS(parser: argparse.ArgumentParser) -> None:  # noqa: N802 - cli hook name
        parser.add_argument("--timesteps", type=int, default=None, metavar="N",
                            help="same as --total-steps (seeds/003)")
        parser.add_argument("--logdir", type=str, default=None, metavar="DIR",
                            help="same as --checkpoint-dir: the run directory (seeds/003)")

    @classmethod
    def translate_flags(cls, args: argparse.Namespace) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if getattr(args, "timesteps", None) is not None:
            out["total_steps"] = args.timesteps
        if getattr(args, "logdir", None) is not None:
            out["checkpoint_dir"] = args.logdir
        return out

    @classmethod
    def read_yaml(cls, path: str | Path) -> dict[str, Any]:
        """Our flat YAML (keys = flag names) or the seed's nested one; both may mix."""
        return cls.read_values(read_yaml_mapping(path), str(path))

    @classmethod
    def read_values(cls, data: dict[str, Any], source: str) -> dict[str, Any]:
        """Checked field values from a mapping in either form (for callers that split a
        larger file first, like the self-play preset)."""
        return check_values(_seed_values(data, source), cls, source)

    # --- rules over several fields ------------------------------------------------------
    def check(self) -> None:
        rollout = self.num_envs * self.num_steps
        if rollout % self.batch_size:
            raise ConfigError(
                f"--batch-size {self.batch_size} does not divide the rollout "
                f"{rollout} (--num-envs {self.num_envs} x --num-steps {self.num_steps})",
                "pick a batch size that divides num_envs * num_steps",
            )

    def to_dict(self) -> dict[str, Any]:
        """The config as saved in config.yaml and manifest.json: the webhook URL holds a
        secret token, so it is never written (pass it again, or set the env var)."""
        out = dataclasses.asdict(self)
        out["webhook_url"] = None
        return out

    def for_debug(self) -> PPOConfig:
        """seeds/003's `--debug`: 1,000 steps that touch every part (rollouts, several
        updates, a checkpoint mid-run and on exit, an evaluation), in its own run dir so
        that the real run never resumes a debug one."""
        rollout = min(self.num_envs * self.num_steps, 256)
        num_steps = max(1, rollout // self.num_envs)
        rollout = num_steps * self.num_envs
        batch = next(b for b in range(min(self.batch_size, rollout), 0, -1) if rollout % b == 0)
        run_dir = self.checkpoint_dir or str(self.run_dir()) + "_debug"
        return dataclasses.replace(
            self, total_steps=min(self.total_steps, DEBUG_STEPS), num_steps=num_steps,
            batch_size=batch, num_epochs=min(self.num_epochs, 2),
            checkpoint_every=DEBUG_STEPS // 2, eval_episodes=min(self.eval_episodes, 2),
            eval_every=DEBUG_STEPS // 2, log_every_s=1.0, checkpoint_dir=run_dir)


def _seed_values(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Flatten seeds/003's sections onto our field names.

    The seed's `training.batch_size` is the samples of one PPO update; with no
    `num_steps` of our own in the file, the rollout is made exactly that big
    (num_steps = batch_size / num_envs), so the seed's file means what it meant there:
    one gradient batch per epoch over the whole rollout.
    """
    out: dict[str, Any] = {}
    seed_batch = False
    for key, value in data.items():
        if key not in SEED_KEYS:
            out[key] = value  # a flat key: check_values judges it
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {key} must be a mapping of settings, got {value!r}")
        for sub, sub_value in value.items():
            if (key, sub) in SEED_HANDED_ON:
                log.warning("%s: %s.%s is for the Rocket League self-play trainer; not used "
                            "by plain PPO", source, key, sub)
                continue
            name = SEED_KEYS[key].get(sub)
            if name is None:
                known = list(SEED_KEYS[key]) + [s for k, s in SEED_HANDED_ON if k == key]
                close = close_names(str(sub), known)
                raise ConfigError(f"{source}: unknown key {key}.{sub}",
                                  f"did you mean {key}.{close}?" if close else
                                  f"{key} takes {', '.join(known)}")
            out[name] = sub_value
            seed_batch |= key == "training" and sub == "batch_size"
    if seed_batch and "num_steps" not in out and isinstance(out["batch_size"], int):
        num_envs = out.get("num_envs", PPOConfig.num_envs)
        if not isinstance(num_envs, int) or num_envs < 1 or out["batch_size"] % num_envs:
            raise ConfigError(f"{source}: training.batch_size {out['batch_size']} is not a "
                              f"multiple of training.num_envs {num_envs}",
                              "make the batch a multiple of the number of envs")
        out["num_steps"] = out["batch_size"] // num_envs
    return out
