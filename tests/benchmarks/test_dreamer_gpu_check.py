"""benchmarks/dreamer_gpu_check.py is the one script a lent GPU gets for Dreamer, with no
time to debug it there: its timing and fallback paths must run here first, on the CPU."""

import sys

import pytest
import torch


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("dreamer_gpu_check")


def test_one_mode_times_real_updates(bench) -> None:
    row = bench.time_mode("tiny", "fp32", "cpu", updates=1, batch=2, seq=8)
    assert row["params"] > 100_000
    assert 0 < row["s_per_update"] < 60
    assert row["updates_per_s"] == pytest.approx(1 / row["s_per_update"], rel=0.02)


def test_oom_probe_halves_until_the_update_fits(bench, monkeypatch) -> None:
    """A CUDA OOM is faked above 4 sequences; the probe must end on a batch that trained."""
    real = bench.DreamerAgent.train_step

    def fussy(self, batch, behavior=True):
        if batch["obs"].shape[0] > 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, batch, behavior)

    monkeypatch.setattr(bench.DreamerAgent, "train_step", fussy)
    out = bench.real_oom("tiny", "cpu", start_batch=16, seq=8)
    assert out["batches_tried"] == [16, 8, 4]
    assert out["final_batch"] == 4 and out["finite_loss"]


def test_without_cuda_it_says_so_and_writes_nothing(bench, monkeypatch, capsys) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", ["dreamer_gpu_check.py"])
    monkeypatch.setattr(bench, "save_result", lambda *a: pytest.fail("wrote a result"))
    bench.main()
    assert "no CUDA device" in capsys.readouterr().out
