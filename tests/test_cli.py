"""Flags map onto the config; user errors are one line with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dreamlab.cli import build_parser, main, resolve_run_config


def _cfg(argv: list[str]):
    args = build_parser().parse_args(["run", *argv])
    return resolve_run_config(args)


def test_flags_map_onto_config_fields(tmp_path) -> None:
    cfg = _cfg([
        "--env", "LunarLander-v3", "--mode", "full", "--num-random-rollouts", "7",
        "--vae-epochs", "2", "--mdnrnn-epochs", "3", "--cma-pop-size", "9",
        "--cma-generations", "4", "--rollouts-per-candidate", "5", "--no-train-in-dream",
        "--save-videos", "--seed", "11", "--stage", "collect,vae", "--vae-img-size", "32",
        "--vae-batch", "16", "--amp", "False", "--tf32", "true", "--device", "cpu",
        "--checkpoint-dir", str(tmp_path / "r"),
    ])
    assert cfg.mode == "full"
    assert (cfg.num_random_rollouts, cfg.vae_epochs, cfg.mdnrnn_epochs) == (7, 2, 3)
    assert (cfg.cma_pop_size, cfg.cma_generations, cfg.rollouts_per_candidate) == (9, 4, 5)
    assert cfg.train_in_dream is False and cfg.save_videos is True
    assert (cfg.seed, cfg.vae_img_size, cfg.vae_batch) == (11, 32, 16)
    assert cfg.amp is False and cfg.tf32 is True
    assert cfg.stages() == ["collect", "vae"]
    assert cfg.run_dir() == tmp_path / "r"


def test_old_env_ids_are_mapped() -> None:
    assert _cfg(["--env", "LunarLander-v2"]).env == "LunarLander-v3"


def test_resume_reads_the_saved_config(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("env: LunarLander-v3\nmode: quick\nvae_epochs: 4\n")
    cfg = _cfg(["--resume", str(run), "--stage", "controller,eval"])
    assert cfg.env == "LunarLander-v3" and cfg.vae_epochs == 4
    assert cfg.checkpoint_dir == str(run)
    assert cfg.stages() == ["controller", "eval"]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["run", "--vae-img-size", "48"], "32 or 64"),
        (["run", "--vae-epochs", "many"], "invalid int value"),
        (["run", "--env", "CartPol-v1"], "CartPole-v1"),
        (["run", "--stage", "train"], "unknown stage"),
        (["run", "--resume", "no/such/dir"], "no such run directory"),
        (["run", "--resume", "src"], "no config.yaml"),
        (["run", "--config", "src"], "is a directory"),
        (["worldmodels", "--config", "no/such.yaml"], "does not exist"),
        (["eval", "no/such/dir"], "is not a directory"),
        (["eval", "src"], "no manifest.json"),
        (["eval", "src", "--episodes", "0"], "--episodes must be >= 1"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, fragment, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_module_entry_point_works_with_ascii_output() -> None:
    env = {"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "PATH": ""}
    out = subprocess.run([sys.executable, "-m", "dreamlab", "run", "--mode", "fast"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2
    assert "UnicodeEncodeError" not in out.stderr
    assert "--mode must be one of" in out.stderr


def test_help_lists_the_algorithms_without_importing_torch() -> None:
    """Every `--help` reads config modules only (issue 10): no torch, no gymnasium."""
    import subprocess
    import sys

    code = ("import sys, contextlib, io\n"
            "from dreamlab.cli import main\n"
            "for argv in (['--help'], ['worldmodels', '--help'], ['dreamer', '--help'],"
            " ['ppo', '--help'], ['run', '--help']):\n"
            "    out = io.StringIO()\n"
            "    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
            "        main(argv)\n"
            "    print(len(out.getvalue()))\n"
            "print('torch' in sys.modules, 'gymnasium' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[-2:] == ["False", "False"], out
    assert all(int(n) > 500 for n in out[:-2])


def test_every_flag_of_every_algorithm_has_help_and_its_default(capsys) -> None:
    from dataclasses import fields

    from dreamlab.algorithms import available
    from dreamlab.config.base import field_types

    for algo in available().values():
        cls = algo.config_class()
        for f in fields(cls):
            assert f.metadata.get("help"), f"{algo.name}: --{f.name} has no help text"
        with pytest.raises(SystemExit):
            main([algo.name, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        types = field_types(cls)
        flags = [f for f in fields(cls) if types[f.name] is not dict]  # dict: YAML-only
        assert text.count("[default") >= len(flags), algo.name


@pytest.mark.parametrize("command", ["run", "ppo", "dreamer"])
def test_a_run_dir_that_is_a_file_is_one_line(command, tmp_path, capsys) -> None:
    target = tmp_path / "afile"
    target.write_text("not a run")
    code = main([command, "--checkpoint-dir", str(target), "--env", "CartPole-v1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "is a file" in err and len(err.splitlines()) == 1


def test_unusable_paths_of_the_curriculum_are_one_line(tmp_path, capsys) -> None:
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(bytes(range(128, 256)))
    for argv, fragment in ((["curriculum", "--curriculum", str(binary)], "not valid YAML"),
                           (["curriculum", "--curriculum", str(tmp_path)], "is a directory")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert fragment in err and len(err.splitlines()) == 1
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    code = main(["curriculum", "--curriculum", "classic", "--checkpoint-dir", str(blocker)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "File exists" in err and "Traceback" not in err
