"""Built-in curricula and YAML curricula; every mistake in a YAML is one ConfigError line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamlab.curriculum.spec import CLASSIC, FULL, load_curriculum, parse_curriculum
from dreamlab.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "curricula"


def test_builtin_orders_and_targets() -> None:
    assert FULL.env_ids == ["ALE/Pong-v5", "LunarLander-v3", "ALE/Breakout-v5", "CarRacing-v3"]
    assert CLASSIC.env_ids == ["ALE/Pong-v5", "ALE/Breakout-v5", "CartPole-v1", "Acrobot-v1"]
    targets = {e.env_id: e.target for e in FULL.entries + CLASSIC.entries}
    assert targets == {"ALE/Pong-v5": 18, "ALE/Breakout-v5": 50, "CarRacing-v3": 800,
                       "LunarLander-v3": 200, "CartPole-v1": 475, "Acrobot-v1": -100}
    assert load_curriculum("CLASSIC") is CLASSIC


def test_shipped_yaml_files_match_the_builtins() -> None:
    assert load_curriculum(CONFIGS / "classic.yaml") == CLASSIC
    assert load_curriculum(CONFIGS / "full.yaml") == FULL
    quick = load_curriculum(CONFIGS / "state_quickcheck.yaml")
    assert quick.entries[1].patience == 2
    assert quick.entries[0].overrides["mdnrnn_hidden"] == 32


def test_yaml_entry_fields_and_old_ids(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "envs:\n"
        "  - env: LunarLander-v2\n"     # old id, mapped
        "    max_generations: 7\n"      # target from the defaults
        "    overrides: {cma-pop-size: 6, temperature: 1}\n"
        "  - CartPole-v1\n"             # bare id
    )
    spec = load_curriculum(path)
    assert spec.name == "mine"
    lunar, cart = spec.entries
    assert (lunar.env_id, lunar.target, lunar.max_generations) == ("LunarLander-v3", 200.0, 7)
    assert lunar.overrides == {"cma_pop_size": 6, "temperature": 1.0}
    assert (cart.env_id, cart.obs, cart.target) == ("CartPole-v1", "auto", 475.0)


@pytest.mark.parametrize("text, fragment", [
    ("envs:\n  - env: CartPol-v1\n    target: 1\n", "did you mean CartPole-v1"),
    ("envs:\n  - env: Pendulum-v1\n", "missing 'target'"),
    ("envs:\n  - env: CartPole-v1\n    target: high\n", "target must be a number"),
    ("envs:\n  - env: CartPole-v1\n    max_generations: 2.5\n", "max_generations must be"),
    ("envs:\n  - env: CartPole-v1\n    obs: rgb\n", "obs must be one of"),
    ("envs:\n  - env: CartPole-v1\n    targt: 3\n", "did you mean 'target'"),
    ("envs:\n  - env: CartPole-v1\n    overrides: {vae_epoch: 2}\n", "vae_epochs"),
    ("envs:\n  - env: CartPole-v1\n    overrides: {vae_epochs: two}\n", "must be int"),
    ("envs:\n  - env: CartPole-v1\n    overrides: {checkpoint_dir: x}\n", "cannot be overr"),
    ("envs:\n  - CartPole-v1\n  - CartPole-v1\n", "listed twice"),
    ("envs: []\n", "non-empty list"),
    ("- CartPole-v1\n", "must be a mapping"),
    ("envs: [CartPole-v1\n", "not valid YAML"),
])
def test_malformed_yaml_is_one_config_error_line(tmp_path, text, fragment) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_curriculum(path)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert "bad.yaml" in info.value.message


def test_unknown_name_and_missing_file() -> None:
    with pytest.raises(ConfigError, match="unknown curriculum"):
        load_curriculum("fancy")
    with pytest.raises(ConfigError, match="does not exist"):
        load_curriculum("no/such/file.yaml")


def test_round_trip_through_to_dict() -> None:
    assert parse_curriculum(CLASSIC.to_dict()) == CLASSIC
