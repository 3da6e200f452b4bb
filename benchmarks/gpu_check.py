"""CUDA paths on a real GPU: AMP/TF32 throughput of V, and a real CUDA OOM.

Usage: python benchmarks/gpu_check.py  (needs a CUDA device; exits 0 with a note otherwise)
1. ConvVAE (paper size, 64 px) fwd+bwd images/s in fp32, TF32 and bf16 autocast, side by
   side in one process, at batch 256.
2. A real CUDA OOM: a VAE step at an absurd batch, through run_with_oom_fallback, which must
   halve the batch until it fits and then train; the batches tried are recorded.
Writes benchmarks/results/gpu_check.json.
"""

from __future__ import annotations

import time

import torch

from dreamlab.models.vae import ConvVAE, vae_loss
from dreamlab.runtime.device import run_with_oom_fallback, setup_device

from _common import save_result


def throughput(mode: str, batch: int = 256, steps: int = 40) -> float:
    torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
    torch.backends.cudnn.allow_tf32 = mode == "tf32"
    model = ConvVAE(64, 32).cuda()
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    x = torch.rand(batch, 3, 64, 64, device="cuda")
    dtype = torch.bfloat16 if mode == "bf16" else None

    def step() -> None:
        with torch.autocast("cuda", dtype=dtype, enabled=dtype is not None):
            recon, mu, logvar = model(x)
        loss, _, _ = vae_loss(recon.float(), x, mu.float(), logvar.float(), 0.5, 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t0)


def real_oom() -> dict:
    setup = setup_device("cuda")
    tried: list[int] = []
    model = ConvVAE(64, 32).cuda()

    def train_step(batch: int, device: torch.device) -> float:
        tried.append(batch)
        x = torch.rand(batch, 3, 64, 64, device=device)
        with setup.autocast():
            recon, mu, logvar = model.to(device)(x)
        loss, _, _ = vae_loss(recon.float(), x, mu.float(), logvar.float(), 0.5, 1.0)
        loss.backward()
        return float(loss)

    t0 = time.perf_counter()
    loss = run_with_oom_fallback(train_step, 1 << 21, setup, max_halvings=8)
    return {"batches_tried": tried, "final_batch": tried[-1], "device_after": str(setup.device),
            "loss": loss, "seconds": round(time.perf_counter() - t0, 2),
            "peak_gpu_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2)}


def main() -> None:
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure")
        return
    rates = {mode: round(throughput(mode), 1) for mode in ("fp32", "tf32", "bf16")}
    torch.cuda.empty_cache()
    oom = real_oom()
    result = {"vae_train_images_per_s_batch256": rates,
              "speedup_bf16_vs_fp32": round(rates["bf16"] / rates["fp32"], 2),
              "speedup_tf32_vs_fp32": round(rates["tf32"] / rates["fp32"], 2),
              "real_oom": oom, "gpu": torch.cuda.get_device_name(0)}
    print(result)
    print(f"wrote {save_result('gpu_check', result)}")


if __name__ == "__main__":
    main()
