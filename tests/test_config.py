"""Config: presets, YAML < flags precedence, validation with clear errors."""

from __future__ import annotations

import pytest

from dreamlab.config import PRESETS, WorldModelConfig, load_yaml, resolve_config
from dreamlab.errors import ConfigError


def test_quick_and_full_presets_follow_the_seeds() -> None:
    quick = resolve_config("quick", overrides={"env": "LunarLander-v3"})
    full = resolve_config("full", overrides={"env": "LunarLander-v3"})
    assert (quick.num_random_rollouts, quick.vae_epochs, quick.mdnrnn_epochs) == (200, 1, 2)
    assert (quick.cma_pop_size, quick.cma_generations, quick.rollouts_per_candidate) == (8, 5, 2)
    assert (full.num_random_rollouts, full.vae_epochs, full.mdnrnn_epochs) == (10000, 10, 20)
    assert (full.cma_pop_size, full.cma_generations, full.rollouts_per_candidate) == (64, 800, 16)


def test_full_preset_has_paper_model_sizes() -> None:
    full = resolve_config("full", overrides={"env": "CarRacing-v3"})
    assert (full.vae_img_size, full.z_dim, full.mdnrnn_hidden, full.mdnrnn_gaussians) == (
        64, 32, 256, 5)
    assert full.controller_hidden == 0  # linear C on [z, h]


def test_env_preset_makes_cartpole_pixels() -> None:
    assert resolve_config("quick").obs == "pixels"
    assert resolve_config("quick", overrides={"env": "LunarLander-v3"}).obs == "auto"


def test_precedence_preset_then_file_then_flags(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("vae_epochs: 3\ncma_pop_size: 12\nmode: full\n")
    cfg = resolve_config("quick", yaml_path=path, overrides={"cma_pop_size": 20})
    assert cfg.mode == "full"
    assert cfg.vae_epochs == 3  # file beats preset
    assert cfg.cma_pop_size == 20  # flag beats file
    assert cfg.num_random_rollouts == PRESETS["full"]["num_random_rollouts"]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("vae_epoch: 3\n", "unknown key 'vae_epoch'"),
        ("vae_epochs: three\n", "vae_epochs must be int"),
        ("train_in_dream: 1\n", "must be true or false"),
        ("- a\n- b\n", "mapping"),
        ("vae_epochs: [\n", "not valid YAML"),
    ],
)
def test_bad_yaml_is_one_clear_error(tmp_path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[")):
        load_yaml(path)


def test_unknown_key_suggests_close_name(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("vae_epoch: 3\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert "vae_epochs" in info.value.hint


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("vae_img_size", 48, "32 or 64"),
        ("mode", "fast", "--mode must be one of"),
        ("cma_pop_size", 1, "--cma-pop-size"),
        ("vae_epochs", -1, "--vae-epochs must be >= 0"),
        ("temperature", 0.0, "--temperature must be > 0"),
        ("stage", "collect,train", "unknown stage train"),
    ],
)
def test_out_of_range_values_are_rejected(field: str, value, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        WorldModelConfig(**{field: value})


def test_stages_are_put_in_pipeline_order() -> None:
    assert WorldModelConfig(stage="eval,controller").stages() == ["controller", "eval"]
    assert WorldModelConfig(stage="all").stages()[0] == "collect"


def test_run_dir_default_is_named_after_env() -> None:
    assert str(WorldModelConfig(env="ALE/Pong-v5").run_dir()).endswith("ALE_Pong-v5_worldmodel")


@pytest.mark.parametrize("field,value", [("controller_inputs", "h"), ("eval_point", "worst"),
                                         ("no_progress_steps", -1), ("cma_max_minutes", -2.0),
                                         ("fitness_max_steps", -5)])
def test_controller_budget_options_reject_bad_values(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field.replace("_", "-")):
        WorldModelConfig(**{field: value})


def test_lunarlander_medium_is_the_measured_experiment_preset() -> None:
    """`--env LunarLander-v3 --mode medium` (and curricula at medium) train the agent
    that benchmarks/learning.py measured from configs/experiments/lunarlander_state.yaml."""
    from pathlib import Path

    yaml = Path(__file__).resolve().parent.parent / "configs/experiments/lunarlander_state.yaml"
    measured = resolve_config(yaml_path=yaml).to_dict()
    medium = resolve_config("medium", overrides={"env": "LunarLander-v3"}).to_dict()
    assert measured == medium  # one home: the YAML names the preset, it does not copy it
    assert medium["controller_inputs"] == "z" and medium["cma_max_minutes"] == 40
