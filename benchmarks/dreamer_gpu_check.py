"""Dreamer's CUDA paths on a lent GPU, prepared so one short device call measures them all
(issue 11: bf16/TF32, OOM fallback, GPU memory staying flat, Pong's projected wall time).

    python benchmarks/dreamer_gpu_check.py                    (needs CUDA: sizes xs s m)
    python benchmarks/dreamer_gpu_check.py --device cpu --sizes tiny   (smoke test here)

1. Updates/s of one world-model + actor-critic step at batch 16 x 64 on 64x64 RGB with 6
   discrete actions (Atari), per named size, in fp32, TF32 and bf16 autocast side by side
   in one process.
2. GPU memory after `--updates` updates and again after three times as many: allocated and
   reserved must not grow once the first steps have sized the caches.
3. A real CUDA OOM: one update at an absurd batch through the trainer's
   run_with_oom_fallback, which must halve until it fits; the batches tried are recorded.
4. The projected wall time of DreamerV3's Pong run (100k agent steps at train ratio 1024,
   one 16 x 64 update per agent step: `dreamlab dreamer --env ALE/Pong-v5 --mode full`)
   from the fastest mode's update time, updates only (acting and the emulator add to it).
Writes benchmarks/results/dreamer_gpu_check.json (or dreamer_gpu_check_cpu.json).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dreamer_common import provenance  # noqa: E402

from dreamlab.config.dreamer import DreamerConfig  # noqa: E402
from dreamlab.dreamer.agent import DreamerAgent  # noqa: E402
from dreamlab.runtime.device import DeviceSetup, run_with_oom_fallback, setup_device  # noqa: E402

from _common import save_result  # noqa: E402

SHAPE, ACTIONS = (64, 64, 3), 6
PONG_AGENT_STEPS = 100_000  # 400k frames at action repeat 4


def fake_batch(b: int, t: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Replay-shaped data: the update's cost does not depend on what the frames show."""
    action = torch.nn.functional.one_hot(torch.randint(0, ACTIONS, (b, t)), ACTIONS).float()
    return {"obs": torch.randint(0, 255, (b, t, *SHAPE), dtype=torch.uint8, device=device),
            "action": action.to(device), "reward": torch.randn(b, t, device=device),
            "is_first": torch.zeros(b, t, dtype=torch.bool, device=device),
            "is_terminal": torch.zeros(b, t, dtype=torch.bool, device=device)}


def build(size: str, setup: DeviceSetup, batch: int, seq: int) -> DreamerAgent:
    cfg = DreamerConfig(model_size=size, batch_size=batch, seq_len=seq, imag_horizon=15)
    agent = DreamerAgent(cfg, SHAPE, True, ACTIONS, discrete=True).to(setup.device)
    agent.autocast = setup.autocast
    return agent


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def gpu_memory_mb() -> dict[str, float]:
    if not torch.cuda.is_available():
        return {}
    return {"allocated_mb": round(torch.cuda.memory_allocated() / 2**20, 1),
            "reserved_mb": round(torch.cuda.memory_reserved() / 2**20, 1),
            "peak_allocated_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}


def time_mode(size: str, mode: str, device: str, updates: int, batch: int, seq: int) -> dict:
    """updates/s in one precision mode, and GPU memory after n and after 3n updates."""
    setup = setup_device(device, amp=mode == "bf16", tf32=mode == "tf32")
    agent = build(size, setup, batch, seq)
    data = fake_batch(batch, seq, setup.device)
    for _ in range(2):  # warm-up: cuDNN autotuning and the allocator's first blocks
        agent.train_step(data)
    sync(setup.device)
    t0 = time.perf_counter()
    for _ in range(updates):
        agent.train_step(data)
    sync(setup.device)
    per = (time.perf_counter() - t0) / updates
    after_n = gpu_memory_mb()
    for _ in range(2 * updates):
        agent.train_step(data)
    sync(setup.device)
    after_3n = gpu_memory_mb()
    row = {"size": size, "mode": mode, "params": sum(agent.param_counts().values()),
           "s_per_update": round(per, 4), "updates_per_s": round(1 / per, 4),
           "memory_after_n": after_n, "memory_after_3n": after_3n}
    if after_n:
        row["allocated_growth_mb"] = round(after_3n["allocated_mb"] - after_n["allocated_mb"], 1)
        row["reserved_growth_mb"] = round(after_3n["reserved_mb"] - after_n["reserved_mb"], 1)
    del agent, data
    if setup.is_cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return row


def real_oom(size: str, device: str, start_batch: int, seq: int) -> dict:
    """One update through the trainer's fallback at a batch that cannot fit."""
    setup = setup_device(device)
    agent = build(size, setup, start_batch, seq)
    tried: list[int] = []

    def step(batch: int, dev: torch.device) -> dict[str, float]:
        tried.append(batch)
        if agent.device != dev:
            agent.to(dev)
        return agent.train_step(fake_batch(batch, seq, dev))

    t0 = time.perf_counter()
    out = run_with_oom_fallback(step, start_batch, setup, max_halvings=10)
    return {"size": size, "batches_tried": tried, "final_batch": tried[-1],
            "device_after": str(setup.device), "finite_loss": all(
                v == v for v in out.values()), "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--sizes", nargs="+", default=["xs", "s", "m"])
    ap.add_argument("--modes", nargs="+", default=["fp32", "tf32", "bf16"])
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16, help="sequences per update")
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--out", default="", help="result name (default: dreamer_gpu_check, "
                    "or dreamer_gpu_check_cpu with --device cpu)")
    ap.add_argument("--oom-batch", type=int, default=8192,
                    help="sequences of 64 frames in the OOM probe (8192: ~2 GB of uint8 "
                    "frames, and ~100x that in activations at size s)")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to measure (use --device cpu for a smoke run)")
        return
    prov = provenance()
    rows = []
    for size in args.sizes:
        for mode in args.modes:
            rows.append(time_mode(size, mode, args.device, args.updates, args.batch,
                                  args.seq_len))
            print(rows[-1], flush=True)
    projection = {}
    for size in args.sizes:
        best = min((r for r in rows if r["size"] == size), key=lambda r: r["s_per_update"])
        updates = PONG_AGENT_STEPS * 1024 / (args.batch * args.seq_len)
        projection[size] = {"mode": best["mode"], "updates": int(updates),
                            "updates_only_hours": round(updates * best["s_per_update"] / 3600, 2)}
    result = {**prov, "device": args.device,
              "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
              "batch": args.batch, "seq_len": args.seq_len, "obs": "64x64x3 uint8",
              "actions": ACTIONS,
              "rows": rows, "pong_100k_agent_steps_ratio_1024": projection}
    if args.device == "cuda":
        result["real_oom"] = real_oom(args.sizes[-1], args.device, args.oom_batch, args.seq_len)
        print(result["real_oom"], flush=True)
    name = args.out or ("dreamer_gpu_check" if args.device == "cuda" else "dreamer_gpu_check_cpu")
    print(save_result(name, {**result, "loadavg_end": provenance()["loadavg"]}))


if __name__ == "__main__":
    main()
