"""Crash, OOM and safe-loading guarantees of the whole package (the reliability issue).

- every write goes through runtime/atomic.py (or is an append-only log that tolerates a
  torn last line), and every torch.load is weights_only=True: checked over the source;
- a CUDA OOM inside the V and M stages halves the batch and the stage still finishes
  (injected on the CPU);
- a real SIGKILL mid-stage, then the same command, completes with the results of an
  uninterrupted run (slow; benchmarks/reliability.py does this 20+ times).
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dreamlab.config import WorldModelConfig
from dreamlab.worldmodels.pipeline import Pipeline

SRC = Path(__file__).resolve().parents[1] / "src" / "dreamlab"

TINY = dict(
    env="CartPole-v1", obs="state", num_random_rollouts=6, collect_workers=1, vae_epochs=1,
    mdnrnn_epochs=1, mdnrnn_hidden=16, mdnrnn_seq_len=8, mdnrnn_batch=4, cma_pop_size=4,
    cma_generations=2, rollouts_per_candidate=2, eval_every=1, eval_rollouts=2,
    eval_episodes=2, dream_max_steps=30, max_episode_steps=60, device="cpu", num_threads=1,
)
TINY_PIXELS = dict(TINY, obs="pixels", vae_img_size=32, z_dim=8, vae_batch=16)

# Writes that do not go through runtime/atomic.py, each with the reason it is safe.
ALLOWED_WRITES = {
    # metrics.csv is an append-only log: a kill leaves at most a torn last row, which
    # read_metrics skips; rewriting it atomically per scalar would cost O(n^2).
    ("runtime/logger.py", "open(path, \"a\""),
    # the episode index is append-only with a CRC per line; readers stop at a torn line
    # and the next writer truncates it (episode_store.py docstring).
    ("data/episode_store.py", "open(self.index_path, \"ab\")"),
    ("data/episode_store.py", "open(self.index_path, \"r+b\")"),
    # imageio streams the video to a temp name and os.replace()s it into place at the end.
    # One writer serves every video (World Models, Dreamer, Rocket League).
    ("report/video.py", "imageio.get_writer(self.tmp"),
    # the replay ring is written into a temporary directory, fsynced, then renamed into
    # place (data/replay.py ReplayBuffer.save); np.save of GBs through a bytes buffer
    # would double the RAM the buffer exists to bound.
    ("data/replay.py", "np.save(tmp / "),
    # a Ray worker's private temp dir for the V and M bytes it was sent, deleted once
    # loaded: scratch no reader ever sees half-written.
    ("worldmodels/agent.py", "(tmp / name).write_bytes(data)"),
    ("data/replay.py", "(tmp / \"state.json\").write_text("),
}


WRITERS = re.compile(r"^(torch\.save|np\.save\w*|numpy\.save\w*|pickle\.dumps?|json\.dump"
                     r"|yaml\.(safe_)?dump|open)$|\.(write_text|write_bytes|savefig|get_writer"
                     r"|mimwrite|imwrite|tofile)$")
CHECKED = re.compile(WRITERS.pattern + r"|^torch\.load$|^np\.load$|^pickle\.")


def _calls() -> list[tuple[str, int, str, str, int]]:
    """(file, line, called name, source, positional args) of the calls looked at here."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name):
                name = func.id
            elif isinstance(func, ast.Attribute):
                base = func.value.id if isinstance(func.value, ast.Name) else ""
                name = f"{base}.{func.attr}"
            else:
                continue
            if CHECKED.search(name):
                out.append((rel, node.lineno, name, ast.get_source_segment(text, node) or "",
                            len(node.args)))
    return out


def test_every_write_is_atomic_or_an_append_only_log() -> None:
    found = []
    for rel, n, name, code, nargs in _calls():
        if rel == "runtime/atomic.py" or not WRITERS.search(name):
            continue
        if name == "open" and not re.search(r"[\"'](?:[wax]b?\+?|r\+b?)[\"']", code):
            continue  # opened for reading
        if name.endswith("savefig") and re.match(r"[\w.]+\(buf\b", code):
            continue  # rendered into memory, then written by atomic_write_bytes
        if name == "torch.save" and re.search(r",\s*buf\)$", code):
            continue  # serialised into memory, then written by atomic_write_bytes
        if name.endswith("imwrite") and '"<bytes>"' in code:
            continue  # encoded in memory (imageio's "<bytes>" target)
        if name in ("yaml.safe_dump", "yaml.dump", "json.dump") and nargs < 2:
            continue  # to a string, not a file
        if not any(rel == f and frag in code for f, frag in ALLOWED_WRITES):
            found.append(f"{rel}:{n}: {code}")
    assert not found, "writes that bypass runtime/atomic.py:\n" + "\n".join(found)


# In-memory messages between the driver and its own workers (never a file): the Ray
# actor unpickles the initializer the driver pickled a moment before, after its version
# check, as Ray and multiprocessing pickle every task they send anyway.
ALLOWED_PICKLE = {("parallel/ray_backend.py", "pickle.loads(setup)"),
                  ("parallel/ray_backend.py", "pickle.dumps(")}


def test_every_torch_load_is_weights_only_and_nothing_is_pickled() -> None:
    bad = []
    for rel, n, name, code, _ in _calls():
        if name == "torch.load" and "weights_only=True" not in code:
            bad.append(f"{rel}:{n}: {code}")
        if name.startswith("pickle.") and any(rel == f and code.startswith(frag)
                                              for f, frag in ALLOWED_PICKLE):
            continue
        if name.startswith("pickle.") or (name == "np.load" and "allow_pickle=True" in code):
            bad.append(f"{rel}:{n}: {code}")
    assert not bad, "unsafe loads:\n" + "\n".join(bad)


def test_checkpoints_hold_no_pickled_objects(tmp_path: Path) -> None:
    """The files a user shares load with weights_only=True (no code runs on load), and
    atomic writes leave no temp file behind."""
    cfg = WorldModelConfig(**TINY_PIXELS, checkpoint_dir=str(tmp_path / "run"))
    Pipeline(cfg).run()
    run = cfg.run_dir()
    for name in ("vae.pt", "mdnrnn.pt", "controller_best.pt", "snapshots/vae.pt",
                 "snapshots/mdnrnn.pt", "cma_state/es_state.pt"):
        torch.load(run / name, map_location="cpu", weights_only=True)
    json.loads((run / "evaluation_results.json").read_text())
    assert not list(run.rglob(".*.tmp"))


def _oom_once(monkeypatch: pytest.MonkeyPatch, cls: type) -> dict[str, int]:
    """Make cls.forward raise a CUDA-style OOM the first time it is called."""
    calls = {"n": 0}
    real_forward = cls.forward

    def forward(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(self, *args, **kwargs)

    monkeypatch.setattr(cls, "forward", forward)
    return calls


def test_vae_stage_halves_its_batch_after_an_oom(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from dreamlab.models.vae import ConvVAE

    calls = _oom_once(monkeypatch, ConvVAE)
    cfg = WorldModelConfig(**TINY_PIXELS, stage="collect,vae",
                           checkpoint_dir=str(tmp_path / "run"))
    with caplog.at_level(logging.WARNING, logger="dreamlab"):
        Pipeline(cfg).run()
    manifest = json.loads((cfg.run_dir() / "manifest.json").read_text())
    assert manifest["stages"]["vae"]["status"] == "done"
    assert manifest["stages"]["vae"]["metrics"]["batch"] == 8  # 16 halved once
    assert calls["n"] > 1
    assert "out of memory at batch 16; halving to 8" in caplog.text
    torch.load(cfg.run_dir() / "vae.pt", weights_only=True)


def test_mdnrnn_stage_halves_its_batch_after_an_oom(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamlab.models.mdnrnn import MDNRNN

    _oom_once(monkeypatch, MDNRNN)
    cfg = WorldModelConfig(**TINY, stage="collect,vae,encode,mdnrnn",
                           checkpoint_dir=str(tmp_path / "run"))
    Pipeline(cfg).run()
    manifest = json.loads((cfg.run_dir() / "manifest.json").read_text())
    assert manifest["stages"]["mdnrnn"]["status"] == "done"
    assert manifest["stages"]["mdnrnn"]["metrics"]["batch"] == 2  # 4 halved once


def _cli_run(run_dir: Path) -> list[str]:
    flags = [a for k, v in TINY_PIXELS.items() for a in ("--" + k.replace("_", "-"), str(v))]
    return [sys.executable, "-m", "dreamlab", "run", *flags, "--vae-epochs", "3",
            "--checkpoint-dir", str(run_dir)]


def _fingerprint(run: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in ("vae.pt", "mdnrnn.pt", "controller_best.pt"):
        ckpt = torch.load(run / name, map_location="cpu", weights_only=True)
        tensors = ckpt.get("state_dict", {"params": ckpt.get("params")})
        out[name] = {k: v.tolist() for k, v in tensors.items()}
    ev = json.loads((run / "evaluation_results.json").read_text())
    out["returns"] = ev["returns"]
    out["dream_returns"] = ev["dream_returns"]
    return out


@pytest.mark.slow
def test_sigkill_in_the_vae_stage_then_rerun_gives_the_uninterrupted_results(
        tmp_path: Path) -> None:
    from dreamlab.data import EpisodeStore

    reference = tmp_path / "reference"
    subprocess.run(_cli_run(reference), check=True, capture_output=True, timeout=600)
    run = tmp_path / "killed"
    proc = subprocess.Popen(_cli_run(run), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            manifest = json.loads((run / "manifest.json").read_text())
            vae = manifest["stages"].get("vae", {})
        except (OSError, ValueError, KeyError):
            vae = {}
        if vae.get("status") == "running" and (run / "snapshots" / "vae.pt").exists():
            break  # mid-stage, after its first epoch snapshot
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before the kill"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    subprocess.run(_cli_run(run), check=True, capture_output=True, timeout=600)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["vae"]["attempts"] == 2
    EpisodeStore(run / "raw_data").verify()
    EpisodeStore(run / "latents").verify()
    assert _fingerprint(run) == _fingerprint(reference)


def test_metrics_log_torn_by_a_kill_still_reads(tmp_path: Path) -> None:
    """metrics.csv is appended, not replaced: a kill mid-row leaves a torn last line (or a
    line the next run appends onto), which the reader skips instead of failing on."""
    from dreamlab.runtime.logger import read_metrics

    (tmp_path / "metrics.csv").write_text(
        "time,tag,step,value\n1.0,vae/loss,1,0.5\n2.0,vae/loss,2\n"
        "3.0,vae/lo4.0,vae/loss,3,0.25\n5.0,vae/loss,4,0.125\n"
    )
    assert read_metrics(tmp_path) == {"vae/loss": [(1, 0.5), (4, 0.125)]}
