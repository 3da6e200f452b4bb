"""Stage `controller`: train C with CMA-ES, in the dream or in the real env.

Ha & Schmidhuber 2018: C is found by CMA-ES (section 2.3), each candidate scored by its
mean return over several rollouts (section 4.3: 16 per candidate, population 64), either
in the real env (CarRacing, section 3) or entirely inside M's dream (VizDoom, section 4).
Every `eval_every` generations the generation's best candidate is scored in the *real*
env over `eval_rollouts` episodes (the paper's periodic evaluation of the best agent), and
controller_best.pt is the candidate with the best real score, never merely the best
dream score: the notes found dream controllers scoring ~500 in the dream and 250-285 in
reality. After dream training, `real_finetune_s` seconds of real-env CMA-ES may follow
(the notes' 257 -> 337 on CartPole from pixels).

Resume: the CMA-ES state (cmaes.py: replayed, bit-exact on the same machine) and this
stage's bookkeeping are written atomically to cma_state/es_state.pt after every
generation. Fitness noise comes from seeds derived from (run seed, generation), never from
a running generator, so a resumed run scores generation g exactly as an uninterrupted run
would. The state is tied to the checksums of vae.pt/mdnrnn.pt and the CMA settings; if
either changed, training starts afresh.

Stop rule (ctx.stop, from a curriculum; else --cma-target): `target_score` (stop once a real eval
reaches it), `patience` (stop after this many generations without a better real
evaluation), `max_iterations` (a cap on all generations, fine-tuning included).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dreamlab.models.controller import ControllerSpec
from dreamlab.runtime.atomic import (
    atomic_save_figure,
    atomic_torch_save,
    atomic_write_json,
    safe_torch_load,
    sha256_file,
)
from dreamlab.runtime.progress import ProgressBar
from dreamlab.runtime.seeding import torch_generator
from dreamlab.worldmodels.agent import (
    PolicySetup,
    RealEvaluator,
    default_workers,
    load_world_model,
    save_controller,
)
from dreamlab.worldmodels.cmaes import CMAES
from dreamlab.worldmodels.context import StageContext
from dreamlab.worldmodels.dream import DreamStarts, dream_rollout

log = logging.getLogger("dreamlab")

STATE_FILE = "es_state.pt"
TRAINER_FORMAT = "dreamlab.controller_trainer/1"


@dataclass
class TrainerState:
    """This stage's bookkeeping besides CMA-ES itself; saved with it every generation."""

    phase: list[str] = field(default_factory=list)  # "dream" | "real" per generation
    evals: list[tuple[int, float, float, float]] = field(default_factory=list)
    best_eval_mean: float = -math.inf
    best_eval_std: float = 0.0
    best_eval_gen: int = -1
    best_params: torch.Tensor | None = None
    best_dream_score: float = math.nan
    best_train_fitness: float = math.nan
    finetune_s: float = 0.0
    seconds: float = 0.0
    env_steps: int = 0
    dream_steps: int = 0
    finished: bool = False
    stop_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        ev = torch.tensor(self.evals, dtype=torch.float64).reshape(-1, 4)
        return {
            "phase": [p == "real" for p in self.phase], "evals": ev,
            "best_eval_mean": self.best_eval_mean, "best_eval_std": self.best_eval_std,
            "best_eval_gen": self.best_eval_gen, "best_params": self.best_params,
            "best_dream_score": self.best_dream_score,
            "best_train_fitness": self.best_train_fitness, "finetune_s": self.finetune_s,
            "seconds": self.seconds, "env_steps": self.env_steps,
            "dream_steps": self.dream_steps, "finished": self.finished,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainerState:
        s = cls(**{k: v for k, v in d.items() if k not in ("phase", "evals")})
        s.phase = ["real" if r else "dream" for r in d["phase"]]
        s.evals = [(int(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in d["evals"].tolist()]
        return s


def latent_moments(ctx: StageContext, max_episodes: int = 500) -> tuple[tuple[float, ...],
                                                                          tuple[float, ...]]:
    """Per-dim mean and std of z (V's mean, or the normalised state) over the latent
    store's episodes (the first max_episodes), for C's input standardisation."""
    store = ctx.open_store(ctx.paths.latents, "encode", "latent store")
    mus = [store.load(i, keys=["mu"])["mu"].astype(np.float64)
           for i in range(min(len(store), max_episodes))]
    z = np.concatenate(mus)
    std = np.maximum(z.std(axis=0), 1e-3)  # a constant dim stays (almost) unscaled
    return tuple(z.mean(axis=0).tolist()), tuple(std.tolist())


@torch.no_grad()
def hidden_moments(ctx: StageContext, mdnrnn: Any, max_episodes: int = 500,
                   ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-dim mean and std of h, M's hidden state, as M runs over the latent store's
    episodes (V's mean and the actions taken, as M was trained), for C's input
    standardisation (ControllerSpec.h_mean)."""
    store = ctx.open_store(ctx.paths.latents, "encode", "latent store")
    device = next(mdnrnn.parameters()).device
    hs = []
    for i in range(min(len(store), max_episodes)):
        ep = store.load(i, keys=["mu", "actions"])
        steps = len(ep["actions"])
        if steps == 0:
            continue
        z = torch.as_tensor(ep["mu"][:steps], dtype=torch.float32, device=device)
        a = torch.as_tensor(ep["actions"], dtype=torch.float32, device=device)
        out, _ = mdnrnn.hidden_sequence(z[None], a.reshape(1, steps, -1))
        hs.append(out[0].double().cpu().numpy())
    h = np.concatenate(hs)
    std = np.maximum(h.std(axis=0), 1e-3)  # a constant unit stays (almost) unscaled
    return tuple(h.mean(axis=0).tolist()), tuple(std.tolist())


class ControllerTrainer:
    """Holds what one run of the stage needs: V/M, the spec, the evaluators, the state."""

    def __init__(self, ctx: StageContext) -> None:
        cfg = ctx.cfg
        self.ctx = ctx
        self.cfg = cfg
        ctx.require(ctx.paths.mdnrnn, "mdnrnn", "MDN-RNN checkpoint")
        if ctx.uses_vae:
            ctx.require(ctx.paths.vae, "vae", "VAE checkpoint")
        if cfg.train_in_dream:
            ctx.require(ctx.paths.latents, "encode", "latent store")
        self.device = ctx.device.device
        vae_path = ctx.paths.vae if ctx.uses_vae else None
        _, self.mdnrnn = load_world_model(vae_path, ctx.paths.mdnrnn, self.device)
        z_mean, z_std = latent_moments(ctx) if cfg.standardize_z else ((), ())
        reads_h = cfg.controller_inputs != "z"
        h_mean, h_std = (hidden_moments(ctx, self.mdnrnn) if cfg.standardize_h and reads_h
                         else ((), ()))
        self.spec = ControllerSpec.for_action(ctx.env_info.action, self.mdnrnn.z_dim,
                                              self.mdnrnn.hidden, cfg.controller_hidden,
                                              z_only=cfg.controller_inputs == "z",
                                              z_mean=z_mean, z_std=z_std,
                                              h_mean=h_mean, h_std=h_std,
                                              single_logit=cfg.single_logit)
        self.workers = default_workers(cfg.collect_workers, ctx.env_info)
        self.setup = PolicySetup(
            env_info=ctx.env_info, spec=self.spec, mdnrnn_path=str(ctx.paths.mdnrnn),
            vae_path=str(vae_path) if vae_path else None, img_size=cfg.vae_img_size,
            max_episode_steps=cfg.fitness_max_steps or cfg.max_episode_steps,
            frame_skip=cfg.frame_skip, no_progress_steps=cfg.no_progress_steps,
            # a batch of 32 frames already amortises V; more envs only cost memory
            envs_per_worker=min(32, math.ceil(cfg.cma_pop_size * cfg.rollouts_per_candidate
                                              / self.workers)),
        )
        self.real = RealEvaluator(self.setup, self.workers, self.device, cfg.executor,
                                  cfg.ray_address)
        self.starts = None
        if ctx.paths.latents.exists():
            self.starts = DreamStarts.from_store(ctx.paths.latents, cfg.mdnrnn_sample_z)
        limit = ctx.env_info.max_episode_steps
        self.dream_max_steps = min(cfg.dream_max_steps, limit) if limit else cfg.dream_max_steps
        self.fingerprint = {  # the stage table's config row, plus the V and M it uses
            "mdnrnn": sha256_file(ctx.paths.mdnrnn),
            "vae": sha256_file(vae_path) if vae_path else "",
            "spec": str(self.spec.to_dict()), "iteration": ctx.iteration,
            **ctx.stage_fingerprint("controller"),
        }
        self.es = CMAES(self.spec.num_params, cfg.cma_sigma0, cfg.cma_pop_size,
                        ctx.seed("cma"))
        self.state = TrainerState()
        self._warned = False
        self._resume()

    # --- fitness ------------------------------------------------------------------------

    def dream_returns(self, params: torch.Tensor, rollouts: int, seed: int) -> np.ndarray:
        """(C, rollouts) dream returns; every candidate meets the same starts and noise
        (common random numbers: the ranking CMA-ES sees is not luck of the start)."""
        assert self.starts is not None
        g = torch_generator(seed)
        start_z = self.starts.sample(rollouts, g).to(self.device)
        seeds = torch.randint(0, 2**62, (rollouts,), generator=g)
        c = params.shape[0]
        returns, lengths = dream_rollout(
            params.repeat_interleave(rollouts, 0).to(self.device), self.spec, self.mdnrnn,
            start_z.repeat(c, 1), self.cfg.temperature, self.dream_max_steps,
            seeds=seeds.repeat(c), done_threshold=self.cfg.done_threshold,
            reward_per_step=self.starts.constant_reward, with_lengths=True,
        )
        self.state.dream_steps += int(lengths.sum())
        return returns.numpy().reshape(c, rollouts)

    def real_returns(self, params: torch.Tensor, rollouts: int, seed: int) -> np.ndarray:
        """(C, rollouts) real returns, the same env seeds for every candidate."""
        c = params.shape[0]
        seeds = [seed + j for j in range(rollouts)]
        out = self.real.run(params.repeat_interleave(rollouts, 0), seeds * c)
        self.state.env_steps += out.env_steps
        return out.returns.reshape(c, rollouts)

    def evaluate(self, params: torch.Tensor) -> tuple[float, float, float]:
        """Real mean and std over eval_rollouts fixed seeds (fixed, so evaluations at
        different generations are comparable), and the dream score on fixed dreams."""
        cfg = self.cfg
        real = self.real_returns(params[None], cfg.eval_rollouts, self.ctx.seed("eval-real"))[0]
        dream = math.nan
        if self.starts is not None:
            dream = float(self.dream_returns(params[None], cfg.eval_rollouts,
                                             self.ctx.seed("eval-dream")).mean())
        return float(real.mean()), float(real.std()), dream

    # --- state --------------------------------------------------------------------------

    @property
    def state_path(self) -> Any:
        return self.ctx.paths.cma_state / STATE_FILE

    def _resume(self) -> None:
        if not self.state_path.exists():
            return
        try:
            saved = safe_torch_load(self.state_path)
        except Exception as exc:  # noqa: BLE001 - a bad state only costs a fresh start
            log.warning("ignoring unreadable CMA-ES state (%s); starting afresh", exc)
            return
        if (not isinstance(saved, dict) or saved.get("format") != TRAINER_FORMAT
                or saved.get("fingerprint") != self.fingerprint
                or not self.es.compatible(saved["cma"])):
            log.warning("CMA-ES state in %s was made with other models or settings; "
                        "starting the controller afresh", self.state_path.parent)
            return
        self.es = CMAES.from_state(saved["cma"])
        self.state = TrainerState.from_dict(saved["trainer"])
        self.state.finished = False  # re-checked against the current targets
        log.info("controller: resumed CMA-ES at generation %d", self.es.generation)
        if self.state.best_params is not None and not self.ctx.paths.controller.exists():
            self._save_best()

    def _save_state(self) -> None:
        atomic_torch_save(self.state_path, {
            "format": TRAINER_FORMAT, "fingerprint": self.fingerprint,
            "cma": self.es.state_dict(), "trainer": self.state.to_dict(),
        })

    def _save_best(self) -> None:
        s = self.state
        assert s.best_params is not None
        save_controller(
            self.ctx.paths.controller, s.best_params, self.spec, fitness=s.best_eval_mean,
            generation=s.best_eval_gen, eval_mean=s.best_eval_mean, eval_std=s.best_eval_std,
            eval_rollouts=self.cfg.eval_rollouts, train_fitness=s.best_train_fitness,
            dream_score=s.best_dream_score, env_id=self.ctx.env_info.env_id,
        )

    # --- the loop -----------------------------------------------------------------------

    def _phase(self) -> str | None:
        """What the next generation trains in, or None when training is over."""
        cfg, s, gen = self.cfg, self.state, self.es.generation
        cap = self.ctx.stop.max_iterations
        if s.stop_reason or (cap and gen >= cap):
            return None
        if gen and cfg.cma_max_minutes and s.seconds >= 60.0 * cfg.cma_max_minutes:
            s.stop_reason = f"time budget of {cfg.cma_max_minutes:g} min spent"
            return None
        if gen < cfg.cma_generations:
            return "dream" if cfg.train_in_dream else "real"
        if cfg.train_in_dream and s.finetune_s < cfg.real_finetune_s:
            return "real"
        return None

    def generation(self, phase: str) -> tuple[torch.Tensor, np.ndarray]:
        """Ask, score every candidate (mean over rollouts_per_candidate), tell."""
        cfg, gen = self.cfg, self.es.generation
        params = torch.as_tensor(self.es.ask(), dtype=torch.float32)
        t0 = time.monotonic()
        if phase == "dream":
            returns = self.dream_returns(params, cfg.rollouts_per_candidate,
                                         self.ctx.seed("dream", gen))
        else:
            returns = self.real_returns(params, cfg.rollouts_per_candidate,
                                        self.ctx.seed("real", gen))
        fitness = returns.mean(axis=1)
        if phase == "dream" and fitness.min() >= self.dream_max_steps and not self._warned:
            # Every candidate survived the whole dream: CMA-ES gets no ranking signal and
            # the controller is free to exploit M (notes: dream 500, real 250-285).
            log.warning("controller: every candidate survives all %d dream steps, so the dream "
                        "ranks nothing; M's done head never fires (train M longer, lower "
                        "--done-threshold, or set --train-in-dream false)", self.dream_max_steps)
            self._warned = True
        self.es.tell(-fitness)  # pycma minimises
        if phase == "real" and cfg.train_in_dream and gen >= cfg.cma_generations:
            self.state.finetune_s += time.monotonic() - t0
        self.state.phase.append(phase)
        log_scalars = {"fitness_best": fitness.max(), "fitness_mean": fitness.mean(),
                       "fitness_std": fitness.std()}
        self.ctx.logger.scalars(log_scalars, gen + 1, prefix="controller/")
        return params, fitness

    def maybe_evaluate(self, params: torch.Tensor, fitness: np.ndarray, final: bool) -> None:
        cfg, s, gen = self.cfg, self.state, self.es.generation
        if not final and gen % cfg.eval_every != 0:
            return
        if s.evals and s.evals[-1][0] == gen:
            return
        if cfg.eval_point == "mean":  # the search distribution's centre, not one draw
            best = torch.as_tensor(self.es.mean, dtype=torch.float32)
        else:
            best = params[int(np.argmax(fitness))]
        mean, std, dream = self.evaluate(best)
        s.evals.append((gen, mean, std, dream))
        self.ctx.logger.scalars({"eval_mean": mean, "eval_std": std}, gen, prefix="controller/")
        if not math.isnan(dream):
            self.ctx.logger.scalar("controller/dream_score", dream, gen)
        if mean > s.best_eval_mean:
            s.best_eval_mean, s.best_eval_std, s.best_eval_gen = mean, std, gen
            s.best_params, s.best_dream_score = best.clone(), dream
            s.best_train_fitness = float(np.max(fitness))
            self._save_best()
        log.info("controller gen %d: fitness best %.1f mean %.1f | real eval %.1f ± %.1f%s "
                 "(best %.1f at gen %d)", gen, fitness.max(), fitness.mean(), mean, std,
                 "" if math.isnan(dream) else f", dream {dream:.1f}", s.best_eval_mean,
                 s.best_eval_gen)
        name = f"{self.ctx.snapshot_prefix}gen_{gen:04d}.json"
        atomic_write_json(self.ctx.paths.snapshots / name, {
            "generation": gen, "phase": s.phase[-1] if s.phase else "",
            "fitness_best": float(np.max(fitness)), "fitness_mean": float(np.mean(fitness)),
            "eval_mean": mean, "eval_std": std, "eval_rollouts": cfg.eval_rollouts,
            "dream_score": None if math.isnan(dream) else dream,
            "best_eval_mean": s.best_eval_mean, "best_eval_generation": s.best_eval_gen,
            "wall_time_s": round(s.seconds, 3), "env_steps": s.env_steps,
        })
        target, patience = self.ctx.stop.target_score, self.ctx.stop.patience
        if target is None:
            target = cfg.cma_target
        if target is not None and mean >= target:
            s.stop_reason = f"target {target:g} reached"
        elif patience and gen - s.best_eval_gen >= patience:
            s.stop_reason = f"no better evaluation for {patience} generations"

    def train(self) -> dict[str, Any]:
        s = self.state
        last_params: torch.Tensor | None = None
        last_fitness: np.ndarray | None = None
        total = self.cfg.cma_generations
        with ProgressBar("controller (CMA-ES)", total=total or None) as bar:
            while (phase := self._phase()) is not None:
                t0 = time.monotonic()
                last_params, last_fitness = self.generation(phase)
                s.seconds += time.monotonic() - t0
                t0 = time.monotonic()
                final = self._phase() is None
                self.maybe_evaluate(last_params, last_fitness, final)
                s.seconds += time.monotonic() - t0
                self._save_state()
                bar.advance(1, best=float(last_fitness.max()), eval=s.best_eval_mean)
        if s.best_params is None:  # zero generations: score the paper's starting point
            x0 = torch.as_tensor(self.es.mean, dtype=torch.float32)
            self.maybe_evaluate(x0[None], np.zeros(1), final=True)
        s.finished = True
        self._save_state()
        self.real.close()
        self.plot()
        return self.metrics()

    def metrics(self) -> dict[str, Any]:
        s = self.state
        fit = [float(-f.min()) for f in self.es.history]
        out = {
            "generations": self.es.generation,
            "best_fitness": max(fit) if fit else math.nan,
            "best_eval_mean": s.best_eval_mean, "best_eval_std": s.best_eval_std,
            "best_eval_generation": s.best_eval_gen, "seconds": round(s.seconds, 2),
            "env_steps": s.env_steps, "workers": self.workers,
            "finetune_s": round(s.finetune_s, 2),
        }
        if self.cfg.train_in_dream:
            out["dream_score"] = s.best_dream_score
            out["dream_steps"] = s.dream_steps
        if s.stop_reason:
            out["stopped_early"] = s.stop_reason
        return out

    def plot(self) -> None:
        """plots/fitness.png: best and mean fitness per generation, real evals marked."""
        from dreamlab.report.plots import agg_figure

        if not self.es.history:
            return
        fit = -np.stack(self.es.history)
        gens = np.arange(1, len(fit) + 1)
        fig = agg_figure((7, 4))
        ax = fig.add_subplot()
        ax.plot(gens, fit.max(axis=1), label="best candidate")
        ax.plot(gens, fit.mean(axis=1), label="population mean")
        real = [i + 1 for i, p in enumerate(self.state.phase) if p == "real"]
        if self.cfg.train_in_dream and real:
            ax.axvspan(real[0] - 0.5, real[-1] + 0.5, color="0.9", label="real-env fine-tune")
        if self.state.evals:
            ev = np.array(self.state.evals)
            ax.errorbar(ev[:, 0], ev[:, 1], yerr=ev[:, 2], fmt="o", capsize=3,
                        label=f"real eval ({self.cfg.eval_rollouts} episodes)")
        where = "dream" if self.cfg.train_in_dream else "real env"
        ax.set_xlabel("generation")
        ax.set_ylabel(f"return (fitness in the {where})")
        ax.set_title(f"CMA-ES controller, {self.ctx.env_info.env_id}")
        ax.legend(loc="best")
        ax.grid(alpha=0.3)
        atomic_save_figure(self.ctx.paths.plots / "fitness.png", fig, dpi=100)
        self.plot_dream_vs_real()

    def plot_dream_vs_real(self) -> None:
        """plots/dream_vs_real.png: at every periodic evaluation, the evaluated candidate's
        score in the dream beside its score in the real env. The gap between the two curves
        is how much C exploits M (paper section 4.5, "cheating the world model")."""
        from dreamlab.report.plots import agg_figure

        ev = np.array(self.state.evals, dtype=np.float64).reshape(-1, 4)
        if ev.shape[0] == 0 or np.isnan(ev[:, 3]).all():
            return
        fig = agg_figure((7, 4))
        ax = fig.add_subplot()
        ax.plot(ev[:, 0], ev[:, 3], "s-", label=f"dream (tau={self.cfg.temperature})")
        ax.errorbar(ev[:, 0], ev[:, 1], yerr=ev[:, 2], fmt="o-", capsize=3, label="real env")
        ax.set_xlabel("generation")
        ax.set_ylabel(f"mean return over {self.cfg.eval_rollouts} rollouts")
        ax.set_title(f"dream vs real, {self.ctx.env_info.env_id} (pass {self.ctx.iteration})")
        ax.legend(loc="best")
        ax.grid(alpha=0.3)
        atomic_save_figure(self.ctx.paths.plots / "dream_vs_real.png", fig, dpi=100)


def run_train_controller(ctx: StageContext) -> dict[str, Any]:
    """Train C with CMA-ES; writes controller_best.pt, cma_state/, snapshots/, plots/."""
    trainer = ControllerTrainer(ctx)
    try:
        return trainer.train()
    finally:
        trainer.real.close()
