"""Every input a user can get wrong is one line that says what to do, exit 2, no traceback.

Cases from the issue: an unknown env id, a missing extra, a bad flag value, a missing /
truncated / corrupt / foreign checkpoint, a run dir of another config, a bad YAML file, and
a disk that fills mid-stage. Most call `dreamlab.cli.main` in-process; one runs the real
entry point to check the process exit code.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dreamlab.cli import main
from dreamlab.errors import DreamlabError

TINY_PIXELS = dict(
    env="CartPole-v1", obs="pixels", vae_img_size=32, z_dim=8, vae_batch=16,
    num_random_rollouts=6, collect_workers=1, vae_epochs=1, mdnrnn_epochs=1, mdnrnn_hidden=16,
    mdnrnn_seq_len=8, mdnrnn_batch=4, cma_pop_size=4, cma_generations=2,
    rollouts_per_candidate=2, eval_every=1, eval_rollouts=2, eval_episodes=2,
    dream_max_steps=30, max_episode_steps=60, device="cpu", num_threads=1,
)


def _flags(values: dict) -> list[str]:
    return [a for k, v in values.items() for a in ("--" + k.replace("_", "-"), str(v))]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished tiny pixel run (V included), copied by each test that damages it."""
    from dreamlab.config import WorldModelConfig
    from dreamlab.worldmodels.pipeline import Pipeline

    run = tmp_path_factory.mktemp("finished") / "run"
    Pipeline(WorldModelConfig(**TINY_PIXELS, checkpoint_dir=str(run))).run()
    return run


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def _one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run main(argv) and return its single stderr line, after checking the contract."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors exit from inside the parser
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("dreamlab: error: ")
    return lines[0]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--env", "CartPol-v1"], "did you mean CartPole-v1"),
        (["--env", "NoSuchGame-v9"], "dreamlab envs"),
        (["--vae-img-size", "48"], "32 or 64"),
        (["--temperature", "0"], "--temperature must be > 0"),
        (["--cma-pop-size", "1"], "--cma-pop-size must be >= 2"),
        (["--num-random-rollouts", "-3"], "--num-random-rollouts must be >= 1"),
        (["--done-threshold", "1.5"], "(0, 1)"),
        (["--vae-epochs", "many"], "invalid int value"),
        (["--vae-lr", "fast"], "invalid float value"),
        (["--amp", "maybe"], "expected true or false"),
        (["--stage", "train"], "unknown stage"),
        (["--device", "tpu"], "--device must be one of"),
        (["--no-such-flag", "1"], "unrecognized arguments"),
    ],
)
def test_bad_flag_is_one_line(argv: list[str], fragment: str, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_exit_2(["run", *argv, "--checkpoint-dir", str(tmp_path / "r")], capsys)
    assert fragment in line
    assert not (tmp_path / "r").exists()  # refused before anything was written


@pytest.mark.parametrize("env_id, extra", [("LunarLander-v3", "box2d"),
                                           ("ALE/Pong-v5", "atari")])
def test_missing_extra_names_the_extra(env_id: str, extra: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from dreamlab.envs import registry

    monkeypatch.setattr(registry, "extra_installed", lambda name: False)
    line = _one_line_exit_2(["run", "--env", env_id, "--checkpoint-dir", str(tmp_path)],
                            capsys)
    assert f"pip install 'dreamlab[{extra}]'" in line


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("env: CartPole-v1\nvae_epoch: 3\n", "did you mean vae_epochs"),
        ("vae_epochs: three\n", "vae_epochs must be int"),
        ("amp: 3\n", "amp must be true or false"),
        ("vae_epochs: [1, 2\n", "not valid YAML"),
        ("- just\n- a list\n", "must hold a mapping"),
    ],
)
def test_bad_yaml_is_one_line(text: str, fragment: str, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert fragment in _one_line_exit_2(["run", "--config", str(path)], capsys)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _foreign(path: Path) -> None:
    torch.save({"weights": torch.zeros(3), "note": "somebody else's file"}, path)


@pytest.mark.parametrize(
    "damage, fragment",
    [
        (lambda run: (run / "mdnrnn.pt").unlink(), "mdnrnn.pt is missing"),
        (lambda run: _truncate(run / "mdnrnn.pt"), "mdnrnn.pt has changed size"),
        (lambda run: _flip(run / "vae.pt"), "vae.pt does not match its checksum"),
        (lambda run: _foreign(run / "vae.pt"), "re-run `--stage vae`"),
        (lambda run: _truncate(run / "manifest.json"), "manifest.json is missing or not valid"),
        (lambda run: (run / "config.yaml").write_text("vae_epochs: [\n"), "not valid YAML"),
    ],
    ids=["missing", "truncated", "corrupt", "foreign", "manifest", "config"],
)
def test_damaged_checkpoint_is_one_line(damage, fragment: str, run_copy: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    damage(run_copy)
    argv = ["run", "--stage", "controller,eval", "--resume", str(run_copy)]
    assert fragment in _one_line_exit_2(argv, capsys)


def test_opponent_on_a_run_that_is_not_rocket_league_is_one_line(
        run_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_exit_2(["eval", str(run_copy), "--opponent", "chaser"], capsys)
    assert "--opponent applies only to Rocket League self-play runs" in line
    assert "worldmodels run" in line


def test_eval_alone_checks_v_and_m_too(run_copy: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _truncate(run_copy / "mdnrnn.pt")
    line = _one_line_exit_2(["run", "--stage", "eval", "--resume", str(run_copy)], capsys)
    assert "re-run `--stage mdnrnn`" in line


def test_foreign_checkpoint_the_manifest_vouches_for_is_caught_on_load(
        run_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Checksums catch damage; a file swapped together with its manifest entry is caught
    by the load itself (format check), still as one error line and no traceback."""
    from dreamlab.runtime.manifest import describe_file

    _foreign(run_copy / "vae.pt")
    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest["stages"]["vae"]["outputs"]["vae.pt"] = describe_file(run_copy / "vae.pt")
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    code = main(["run", "--stage", "eval", "--eval-episodes", "3", "--resume", str(run_copy)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("dreamlab: error")]
    assert len(errors) == 1 and "not a dreamlab VAE checkpoint" in errors[0]


@pytest.mark.parametrize("flags, fragment", [(["--env", "Acrobot-v1"], "env='CartPole-v1'"),
                                             (["--vae-img-size", "64"], "vae_img_size=32")])
def test_run_dir_of_another_config_is_one_line(flags: list[str], fragment: str,
                                               run_copy: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    before = (run_copy / "manifest.json").read_bytes()
    line = _one_line_exit_2(["run", "--resume", str(run_copy), *flags], capsys)
    assert fragment in line and "another --checkpoint-dir" in line
    assert (run_copy / "manifest.json").read_bytes() == before  # nothing rewritten


def test_debug_shows_the_traceback(run_copy: Path) -> None:
    _truncate(run_copy / "mdnrnn.pt")
    with pytest.raises(DreamlabError, match="mdnrnn.pt"):
        main(["--debug", "run", "--stage", "controller,eval", "--resume", str(run_copy)])


def test_entry_point_exits_2_with_one_line(run_copy: Path) -> None:
    _truncate(run_copy / "mdnrnn.pt")
    out = subprocess.run(
        [sys.executable, "-m", "dreamlab", "run", "--stage", "controller,eval", "--resume",
         str(run_copy)], capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "re-run `--stage mdnrnn`" in out.stderr


def _fail_fsync_of(monkeypatch: pytest.MonkeyPatch, basename_part: str) -> None:
    """ENOSPC from fsync for files whose name contains basename_part (Linux /proc)."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        try:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            name = ""
        if basename_part in name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")
def test_disk_full_mid_stage_stops_cleanly_and_resumes(
        run_copy: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from dreamlab.data import EpisodeStore

    old_vae = (run_copy / "vae.pt").read_bytes()
    argv = ["run", "--resume", str(run_copy), "--vae-epochs", "2"]  # V trains again
    _fail_fsync_of(monkeypatch, "vae.pt")  # the epoch snapshot and vae.pt itself
    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("dreamlab: error")]
    assert "Traceback" not in err
    assert len(errors) == 1 and "disk full while writing vae.pt" in errors[0]
    assert err.strip().splitlines()[-1] == errors[0]  # the error is the last word
    # what was written before is intact, and no temp file is left behind
    EpisodeStore(run_copy / "raw_data").verify()
    assert (run_copy / "vae.pt").read_bytes() == old_vae
    assert not list(run_copy.rglob(".*.tmp"))
    manifest = json.loads((run_copy / "manifest.json").read_text())
    assert manifest["stages"]["vae"]["status"] == "failed"

    monkeypatch.undo()  # space is free again
    assert main(argv) == 0
    manifest = json.loads((run_copy / "manifest.json").read_text())
    assert manifest["stages"]["vae"]["metrics"]["epochs"] == 2
    assert all(s["status"] == "done" for s in manifest["stages"].values())
    torch.load(run_copy / "vae.pt", weights_only=True)


def test_disk_full_outside_the_atomic_writers_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An index append or a log line that hits ENOSPC is the user's to fix too."""
    from dreamlab.worldmodels import pipeline

    def full(self: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline.Pipeline, "run", full)
    argv = ["run", *_flags(dict(TINY_PIXELS, checkpoint_dir=tmp_path / "r"))]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("dreamlab: error: disk full")
