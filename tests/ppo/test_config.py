"""seeds/003's YAML and flags map onto PPOConfig; bad input is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamlab.cli import build_parser, main, resolve_algorithm_config
from dreamlab.config.base import resolve_config
from dreamlab.config.ppo import PPOConfig
from dreamlab.errors import ConfigError

SEED_YAML = Path(__file__).resolve().parents[2] / "configs/experiments/ppo_seed003.yaml"


def test_the_seed_yaml_loads_with_its_meaning() -> None:
    values = PPOConfig.read_yaml(SEED_YAML)
    assert values == {"num_envs": 8, "total_steps": 5_000_000, "batch_size": 32768,
                      "learning_rate": 8e-4, "device": "auto", "checkpoint_dir": "logs",
                      "checkpoint_every": 10_000, "num_steps": 4096}
    cfg = resolve_config(PPOConfig, file_values=values)
    assert cfg.num_envs * cfg.num_steps == cfg.batch_size == 32768


def test_seed_flags_override_the_yaml() -> None:
    args = build_parser().parse_args(["ppo", "--config", str(SEED_YAML), "--timesteps",
                                      "5000", "--logdir", "runs/mine", "--device", "cpu"])
    cfg = resolve_algorithm_config(args, PPOConfig)
    assert (cfg.total_steps, cfg.checkpoint_dir, cfg.device) == (5000, "runs/mine", "cpu")
    assert cfg.learning_rate == 8e-4


def test_presets_are_rl_zoo_values_and_flags_win() -> None:
    args = build_parser().parse_args(["ppo", "--env", "CartPole-v1", "--num-epochs", "5"])
    cfg = resolve_algorithm_config(args, PPOConfig)
    assert (cfg.num_envs, cfg.num_steps, cfg.batch_size, cfg.gae_lambda) == (8, 32, 256, 0.8)
    assert cfg.num_epochs == 5


def test_the_webhook_url_is_never_saved() -> None:
    cfg = PPOConfig(webhook_url="https://discord.example/api/webhooks/1/secret")
    assert cfg.to_dict()["webhook_url"] is None


def _one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize("text, expected", [
    ("gama: 0.9\n", "unknown key 'gama' -> did you mean gamma?"),
    ("training:\n  batchsize: 64\n", "unknown key training.batchsize -> did you mean "
     "training.batch_size?"),
    ("learning_rate: fast\n", "learning_rate must be float"),
    ("training:\n  num_envs: 3\n  batch_size: 64\n", "not a multiple of training.num_envs"),
])
def test_bad_yaml_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert expected in _one_line(["ppo", "--config", str(path)], capsys)


@pytest.mark.parametrize("flags, expected", [
    (["--batch-size", "100"], "--batch-size 100 does not divide the rollout 256"),
    (["--learning-rate", "-0.001"], "--learning-rate must be > 0, got -0.001"),
    (["--gamma", "1.5"], "--gamma must be <= 1"),
])
def test_bad_flags_are_one_line(capsys: pytest.CaptureFixture[str], flags: list[str],
                                expected: str) -> None:
    assert expected in _one_line(["ppo", "--env", "CartPole-v1", *flags], capsys)


def test_debug_is_short_and_touches_every_part() -> None:
    cfg = PPOConfig(total_steps=5_000_000, num_envs=8, num_steps=2048, batch_size=4096,
                    checkpoint_dir=None, debug=True).for_debug()
    assert cfg.total_steps == 1000
    assert cfg.checkpoint_every < cfg.total_steps and 0 < cfg.eval_every < cfg.total_steps
    assert cfg.total_steps // (cfg.num_envs * cfg.num_steps) >= 2  # several updates
    assert str(cfg.run_dir()).endswith("_debug")
    with pytest.raises(ConfigError):
        PPOConfig(num_envs=3, num_steps=5, batch_size=4)
