"""EpisodeStore: round trips, seeking, corruption and crash safety (a user loses data if not)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from dreamlab.data import EpisodeStore
from dreamlab.errors import CheckpointError


def _episode(rng: np.random.Generator, steps: int) -> dict[str, np.ndarray]:
    return {
        "obs": rng.integers(0, 256, size=(steps + 1, 8, 8, 3), dtype=np.uint8),
        "actions": rng.integers(0, 4, size=steps),
        "rewards": rng.standard_normal(steps).astype(np.float32),
        "terminated": np.arange(steps) == steps - 1,
    }


def _assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key])


def test_round_trip_keeps_values_dtypes_and_mixed_lengths(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    store = EpisodeStore(tmp_path / "s", create=True)
    episodes = [
        _episode(rng, 7),
        {  # a latent-store episode: float16 latents, encoded float32 actions
            "mu": rng.standard_normal((6, 4)).astype(np.float16),
            "logvar": rng.standard_normal((6, 4)).astype(np.float16),
            "actions": rng.standard_normal((5, 3)).astype(np.float32),
            "rewards": np.zeros(5, np.float64),
            "terminated": np.zeros(5, bool),
        },
    ]
    for ep in episodes:
        store.append(ep)
    reopened = EpisodeStore(tmp_path / "s")
    assert len(reopened) == 2
    for i, ep in enumerate(episodes):
        _assert_same(reopened.load(i), ep)
    assert reopened.load(1)["mu"].flags.writeable
    _assert_same(reopened.load(0, keys=["rewards"]), {"rewards": episodes[0]["rewards"]})


def test_index_seeks_to_any_episode_and_keeps_meta(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    store = EpisodeStore(tmp_path, create=True)
    episodes = [_episode(rng, steps) for steps in (3, 11, 5, 9)]
    for seed, ep in enumerate(episodes):
        assert store.append(ep, meta={"seed": seed}) == seed
    reader = EpisodeStore(tmp_path)
    _assert_same(reader.load(2), episodes[2])
    _assert_same(reader.load(-1), episodes[3])
    meta = reader.episode_meta(1)
    assert meta["num_steps"] == 11 and meta["seed"] == 1
    assert meta["return"] == pytest.approx(float(episodes[1]["rewards"].sum()), rel=1e-6)
    assert reader.num_steps == 3 + 11 + 5 + 9
    assert reader.nbytes_on_disk() > 0
    with pytest.raises(IndexError):
        reader.load(4)


def test_missing_or_foreign_directory_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a dreamlab episode store"):
        EpisodeStore(tmp_path / "nowhere")
    (tmp_path / "store.json").write_text('{"format": "something else"}')
    with pytest.raises(CheckpointError):
        EpisodeStore(tmp_path)


def test_rejects_object_arrays_before_writing(tmp_path: Path) -> None:
    store = EpisodeStore(tmp_path, create=True)
    with pytest.raises(TypeError):
        store.append({"obs": np.array([{"a": 1}], dtype=object)})
    assert len(store) == 0 and not any((tmp_path / "episodes").iterdir())


def test_meta_that_is_not_json_fails_before_writing(tmp_path: Path) -> None:
    store = EpisodeStore(tmp_path, create=True)
    with pytest.raises(TypeError):
        store.append(_episode(np.random.default_rng(5), 3), meta={"bad": object()})
    assert len(EpisodeStore(tmp_path)) == 0 and not any((tmp_path / "episodes").iterdir())


def test_verify_and_load_catch_a_corrupted_file(tmp_path: Path) -> None:
    store = EpisodeStore(tmp_path, create=True)
    store.append(_episode(np.random.default_rng(2), 20))
    store.verify()
    path = next((tmp_path / "episodes").iterdir())
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF  # inside the last compressed array
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        store.verify()
    with pytest.raises(CheckpointError, match="corrupt"):
        store.load(0)
    path.write_bytes(bytes(data[:100]))
    with pytest.raises(CheckpointError, match="size"):
        store.verify()


def test_reader_sees_episodes_appended_after_it_opened(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    writer = EpisodeStore(tmp_path, create=True)
    writer.append(_episode(rng, 4))
    reader = EpisodeStore(tmp_path)
    ep = _episode(rng, 6)
    writer.append(ep)
    assert len(reader) == 1
    reader.refresh()
    assert len(reader) == 2
    _assert_same(reader.load(1), ep)


def test_torn_index_line_is_ignored_then_repaired(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    store = EpisodeStore(tmp_path, create=True)
    store.append(_episode(rng, 4))
    with open(tmp_path / "index.jsonl", "ab") as f:
        f.write(b'{"i":1,"file":"ep_00')  # a writer killed mid-line
    assert len(EpisodeStore(tmp_path)) == 1
    writer = EpisodeStore(tmp_path)
    ep = _episode(rng, 5)
    assert writer.append(ep) == 1
    _assert_same(EpisodeStore(tmp_path).load(1), ep)


_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import dreamlab.data.episode_store as es
    root, mode = sys.argv[1], sys.argv[2]
    store = es.EpisodeStore(root, create=True)
    rng = np.random.default_rng(0)
    def episode():
        return {"obs": rng.integers(0, 256, size=(201, 16, 16, 3), dtype=np.uint8),
                "actions": rng.integers(0, 4, size=200),
                "rewards": np.ones(200, np.float32)}
    for _ in range(3):
        store.append(episode())
    if mode == "after-file":
        real = es.atomic_write_bytes
        def write_then_hang(path, data):
            real(path, data)
            print("file-written", flush=True)
            time.sleep(600)
        es.atomic_write_bytes = write_then_hang
    print("ready", flush=True)
    while True:
        store.append(episode())
    """
)


def _kill_writer(root: Path, mode: str, wait_for: str, extra_s: float = 0.0) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:
            if line.strip() == wait_for:
                break
        deadline = time.monotonic() + extra_s
        while time.monotonic() < deadline:
            pass  # let the writer get part-way through further appends
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_between_file_and_index_loses_only_that_episode(tmp_path: Path) -> None:
    _kill_writer(tmp_path, "after-file", "file-written")
    store = EpisodeStore(tmp_path)
    assert len(store) == 3
    assert len(list((tmp_path / "episodes").glob("*.dlep"))) == 4  # the orphan
    store.verify()
    for i in range(3):
        assert store.load(i)["obs"].shape == (201, 16, 16, 3)
    store.append({"obs": np.zeros((3, 16, 16, 3), np.uint8)})  # the next writer takes over
    assert len(EpisodeStore(tmp_path)) == 4
    EpisodeStore(tmp_path).verify()


def test_sigkill_while_appending_leaves_a_readable_store(tmp_path: Path) -> None:
    _kill_writer(tmp_path, "loop", "ready", extra_s=0.3)
    store = EpisodeStore(tmp_path)
    assert len(store) >= 3
    store.verify()
    for i in range(len(store)):
        assert store.load(i)["rewards"].sum() == 200
