"""OOM fallback: halve the batch, then continue on the CPU, loudly (issue 6)."""

from __future__ import annotations

import logging

import pytest
import torch

from dreamlab.runtime.device import DeviceSetup, run_with_oom_fallback, setup_device


def test_oom_halves_the_batch_and_retries() -> None:
    setup = setup_device("cpu")
    seen: list[int] = []

    def step(batch: int, device: torch.device) -> int:
        seen.append(batch)
        if batch > 16:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return batch

    assert run_with_oom_fallback(step, 64, setup) == 16
    assert seen == [64, 32, 16]


def test_repeated_oom_falls_back_to_cpu_with_a_warning(caplog) -> None:
    fake_cuda = DeviceSetup(torch.device("cpu"), None, False, 1)
    fake_cuda.device = torch.device("meta")  # stands in for a GPU that keeps failing
    devices: list[str] = []

    def step(batch: int, device: torch.device) -> str:
        devices.append(device.type)
        if device.type != "cpu":
            raise RuntimeError("CUDA out of memory")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="dreamlab"):
        assert run_with_oom_fallback(step, 64, fake_cuda, max_halvings=3) == "ok"
    assert devices == ["meta", "meta", "meta", "cpu"]
    assert fake_cuda.device.type == "cpu"
    assert "continuing on the CPU" in caplog.text


def test_other_errors_are_not_swallowed() -> None:
    def step(batch: int, device: torch.device) -> None:
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        run_with_oom_fallback(step, 8, setup_device("cpu"))


def test_blas_threads_holds_numpy_blas_inside_the_block_only() -> None:
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_info

    from dreamlab.runtime.device import blas_threads

    def blas() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas()
    if not before:
        pytest.skip("numpy has no BLAS that threadpoolctl sees")
    with blas_threads(1):
        assert blas() == [1] * len(before)
    assert blas() == before
