"""Stage 4, mdnrnn: train M, the MDN-RNN, on the latent store (paper section 2.2, A.2).

Reads latents/, writes mdnrnn.pt. Each training item is a window of seq_len steps
(SequenceDataset): z_t sampled from V's posterior, the encoded action a_t, and as targets
z_{t+1}, r_t and terminated_t, with a mask over the padding of short episodes. Every
window starts from a zero LSTM state, as in the paper's code.

Snapshots and resume work exactly as for the VAE stage (see train_vae.py): after every
epoch and every `snapshot_every_s` seconds, into snapshots/mdnrnn.pt, and an epoch-boundary
resume reproduces the uninterrupted run's weights.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from dreamlab.data import EpisodeStore, SequenceDataset, make_loader
from dreamlab.errors import StageInputError
from dreamlab.models.mdnrnn import MDNRNN, mdn_loss
from dreamlab.runtime.atomic import atomic_save_figure, atomic_torch_save
from dreamlab.runtime.device import run_with_oom_fallback
from dreamlab.worldmodels.context import StageContext
from dreamlab.worldmodels.epochs import EpochLoop, train_epochs

log = logging.getLogger("dreamlab")

GRAD_CLIP_NORM = 1.0  # the paper's code clips M's gradients; LSTMs need it early on
METRICS = ("loss", "nll", "reward_mse", "done_bce")


def run_train_mdnrnn(ctx: StageContext) -> dict[str, Any]:
    """Train M on latents/ and write mdnrnn.pt; returns the stage's metrics."""
    store = ctx.open_store(ctx.paths.latents, "encode", "latent store")
    action_dim = ctx.env_info.action.input_dim
    stored_dim = store.key_spec(0, "actions")["shape"][1]
    if stored_dim != action_dim:
        raise StageInputError(
            f"latents hold {stored_dim}-d actions, but {ctx.env_info.env_id} has "
            f"{action_dim}-d encoded actions",
            "re-run `--stage encode` for this env",
        )
    return run_with_oom_fallback(
        lambda batch, _device: _train(ctx, store, batch), ctx.cfg.mdnrnn_batch, ctx.device
    )


def _train(ctx: StageContext, store: EpisodeStore, batch: int) -> dict[str, Any]:
    """M's model and update; the loop around them is shared with V (epochs.py). Called
    again with half the batch after a CUDA OOM."""
    cfg, dev = ctx.cfg, ctx.device
    device = dev.device
    z_dim = int(store.key_spec(0, "mu")["shape"][1])
    action_dim = ctx.env_info.action.input_dim
    accum = cfg.grad_accum_steps * max(1, cfg.mdnrnn_batch // batch)
    fingerprint = {  # the stage table's config row, plus what the data and model are
        "stage": "mdnrnn", "iteration": ctx.iteration, **ctx.stage_fingerprint("mdnrnn"),
        "episodes": len(store), "steps": store.num_steps, "z_dim": z_dim,
        "action_dim": action_dim,
    }
    torch.manual_seed(ctx.seed("mdnrnn", "init"))
    model = MDNRNN(z_dim, action_dim, cfg.mdnrnn_hidden, cfg.mdnrnn_gaussians).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.mdnrnn_lr)

    def loss(item: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Paper A.2: mixture NLL of z_{t+1}, plus reward MSE and done BCE heads."""
        item = {k: v.to(device, non_blocking=True) for k, v in item.items()}
        with dev.autocast():
            out, _ = model(item["z"], item["actions"])
        return mdn_loss(out, item["z_next"], item["rewards"], item["terminated"],
                        item["mask"], cfg.done_pos_weight)

    ram_bytes = int(cfg.data_ram_gb * 2**30)

    def loader(epoch: int, batch_: int) -> tuple[Any, Any]:
        dataset = SequenceDataset(ctx.paths.latents, cfg.mdnrnn_seq_len, ram_bytes,
                                  seed=ctx.seed("mdnrnn", "data"), epoch=epoch,
                                  sample_latents=cfg.mdnrnn_sample_z)
        return dataset, make_loader(dataset, batch_, cfg.loader_workers,
                                    seed=ctx.seed("mdnrnn", epoch))

    def on_epoch_end(epoch: int, m: dict[str, float]) -> None:
        log.info("mdnrnn: epoch %d/%d loss %.4f (nll %.4f, reward %.4f, done %.4f)",
                 epoch, cfg.mdnrnn_epochs, m["loss"], m["nll"], m["reward_mse"],
                 m["done_bce"])

    result = train_epochs(ctx, EpochLoop(
        name="mdnrnn", model=model, optimizer=optimizer, scaler=dev.grad_scaler(),
        metrics=METRICS, loss=loss, loader=loader, batch_len=lambda item: len(item["z"]),
        epochs=cfg.mdnrnn_epochs, batch=batch, accum=accum, fingerprint=fingerprint,
        clip_norm=GRAD_CLIP_NORM, record_curve=True, on_epoch_end=on_epoch_end))

    progress = result.progress
    checkpoint = model.to_checkpoint()
    checkpoint["trained"] = {"epochs": progress["epoch"], "episodes": len(store)}
    atomic_torch_save(ctx.paths.mdnrnn, checkpoint)
    if progress.get("curve"):
        _plot_loss(ctx, progress["curve"])
    last = result.last_means or dict.fromkeys(METRICS, 0.0)
    return {**{("final_loss" if k == "loss" else k): last[k] for k in METRICS},
            "epochs": progress["epoch"], "batch": batch}


def _plot_loss(ctx: StageContext, curve: list[tuple[int, float]]) -> None:
    """plots/mdnrnn_loss.png: M's loss per batch, for a look without TensorBoard."""
    from dreamlab.report.plots import agg_figure

    fig = agg_figure((6, 3.5))
    ax = fig.add_subplot()
    ax.plot([c[1] for c in curve], linewidth=0.8)
    ax.set_xlabel("batch")
    ax.set_ylabel("loss (nll + reward mse + done bce)")
    ax.set_title("MDN-RNN training loss")
    ax.grid(alpha=0.3)
    atomic_save_figure(ctx.paths.plots / "mdnrnn_loss.png", fig)
