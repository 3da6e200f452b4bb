"""Performance monitor shared by the step trainers (Dreamer, PPO): throughput and memory.

`PerfMonitor.sample(env_steps, updates)` returns env steps/s (since the last sample and
overall), updates/s, this process's RSS and CPU %, and on CUDA the allocated, reserved
and peak GPU memory plus GPU utilisation through nvidia-ml-py when it is installed. The
trainer logs the dict through its RunLogger (TensorBoard + logs/metrics.csv), so a leak
shows as a rising `perf/rss_mb` line instead of an OOM at step 53.8k (seeds/004).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psutil

log = logging.getLogger("dreamlab")


class PerfMonitor:
    def __init__(self, env_steps: int = 0, updates: int = 0) -> None:
        self._proc = psutil.Process()
        self._proc.cpu_percent(None)  # prime: the first call always returns 0
        now = time.monotonic()
        self._start = (now, env_steps, updates)
        self._last = (now, env_steps, updates)
        self.peak_rss_mb = 0.0
        self._nvml: Any = None
        self._nvml_handle: Any = None

    def _gpu(self) -> dict[str, float]:
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a dependency
            return {}
        if not torch.cuda.is_available():
            return {}
        mb = 1024.0 ** 2
        out = {"gpu_allocated_mb": torch.cuda.memory_allocated() / mb,
               "gpu_reserved_mb": torch.cuda.memory_reserved() / mb,
               "gpu_peak_mb": torch.cuda.max_memory_allocated() / mb}
        if self._nvml is None:
            try:
                import pynvml

                pynvml.nvmlInit()
                self._nvml = pynvml
                index = torch.cuda.current_device()
                self._nvml_handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            except Exception:  # noqa: BLE001 - nvidia-ml-py is optional
                self._nvml = False
        if self._nvml:
            try:
                out["gpu_util_pct"] = float(
                    self._nvml.nvmlDeviceGetUtilizationRates(self._nvml_handle).gpu)
            except Exception:  # noqa: BLE001 - a driver hiccup is not worth a crash
                pass
        return out

    def sample(self, env_steps: int, updates: int = 0) -> dict[str, float]:
        now = time.monotonic()
        t0, s0, u0 = self._last
        ts, ss, _ = self._start
        dt = max(now - t0, 1e-9)
        rss_mb = self._proc.memory_info().rss / 1024.0 ** 2
        self.peak_rss_mb = max(self.peak_rss_mb, rss_mb)
        out = {
            "sps": (env_steps - s0) / dt,
            "sps_overall": (env_steps - ss) / max(now - ts, 1e-9),
            "updates_per_s": (updates - u0) / dt,
            "rss_mb": rss_mb,
            "peak_rss_mb": self.peak_rss_mb,
            "cpu_pct": self._proc.cpu_percent(None),
        }
        out.update(self._gpu())
        self._last = (now, env_steps, updates)
        return out

    @staticmethod
    def format(sample: dict[str, float]) -> str:
        """One ASCII line for the console (seeds/003: Unicode crashed a Windows console)."""
        text = (f"{sample['sps']:.0f} steps/s ({sample['sps_overall']:.0f} overall), "
                f"{sample['updates_per_s']:.1f} updates/s, RSS {sample['rss_mb']:.0f} MB, "
                f"CPU {sample['cpu_pct']:.0f}%")
        if "gpu_allocated_mb" in sample:
            text += (f", GPU {sample['gpu_allocated_mb']:.0f}/{sample['gpu_reserved_mb']:.0f}"
                     f" MB (peak {sample['gpu_peak_mb']:.0f})")
        if "gpu_util_pct" in sample:
            text += f" util {sample['gpu_util_pct']:.0f}%"
        return text
