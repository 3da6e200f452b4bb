"""Atomic writes, safe loading and the one-line full-disk error."""

from __future__ import annotations

import errno
import os

import pytest
import torch

from dreamlab.errors import CheckpointError, DiskBudgetError
from dreamlab.runtime.atomic import (
    atomic_torch_save,
    atomic_write_bytes,
    safe_torch_load,
    sha256_file,
)


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path) -> None:
    path = tmp_path / "a.bin"
    atomic_write_bytes(path, b"old")
    atomic_write_bytes(path, b"new contents")
    assert path.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_enospc_is_one_clear_error_and_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "vae.pt"
    atomic_write_bytes(path, b"earlier artifact")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(DiskBudgetError, match="disk full while writing vae.pt"):
        atomic_write_bytes(path, b"x" * 1000)
    monkeypatch.undo()
    assert path.read_bytes() == b"earlier artifact"
    assert os.listdir(tmp_path) == ["vae.pt"]


def test_torch_roundtrip_with_weights_only(tmp_path) -> None:
    path = tmp_path / "m.pt"
    atomic_torch_save(path, {"w": torch.arange(4.0), "format": "x"})
    assert torch.equal(safe_torch_load(path)["w"], torch.arange(4.0))


def test_truncated_checkpoint_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "m.pt"
    atomic_torch_save(path, {"w": torch.randn(1000)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt"):
        safe_torch_load(path)


class Foreign:
    """Any class outside the weights-only allow list stands for a malicious pickle."""


def test_pickled_object_is_refused(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"obj": Foreign()}, path)
    with pytest.raises(CheckpointError):
        safe_torch_load(path)


def test_missing_checkpoint(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        safe_torch_load(tmp_path / "nope.pt")


def test_sha256_changes_with_content(tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"1")
    b.write_bytes(b"2")
    assert sha256_file(a) != sha256_file(b)
