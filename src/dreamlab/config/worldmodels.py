"""World Models settings (Ha & Schmidhuber 2018; the flags of seeds/002 and seeds/000).

Every default of the pipeline lives here, each with its help text and bounds, and so do
its presets: the mode presets (quick / medium / full) and the per-env values layered on
them. Named experiments that are more than a preset live in configs/experiments/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dreamlab.config.base import RunConfig, opt
from dreamlab.errors import ConfigError

STAGES = ("collect", "vae", "encode", "mdnrnn", "controller", "eval")

# quick finishes in minutes on a 2-core CPU; full is the paper's scale. quick keeps
# seeds/002's collection and epoch counts but gives CMA-ES enough generations to learn in
# the (cheap, batched) dream. Quick work is also sized in frames and steps, so that it is
# quick for any env (issue 10, item 7): 200 random rollouts of a pixel env whose episodes
# last 500 steps were 100k frames (V still training after 10 minutes), so collection from
# pixels stops at 10,000 frames, and episodes are capped at 1,000 steps. Per-env presets
# below still tune the envs they name.
MODE_PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(
        num_random_rollouts=200, vae_epochs=1, mdnrnn_epochs=2, cma_pop_size=8,
        cma_generations=5, rollouts_per_candidate=2, eval_episodes=10,
        collect_max_frames=10_000, max_episode_steps=1000,
    ),
    "medium": dict(
        num_random_rollouts=1000, vae_epochs=5, mdnrnn_epochs=10, cma_pop_size=32,
        cma_generations=100, rollouts_per_candidate=8, eval_episodes=100,
    ),
    "full": dict(
        num_random_rollouts=10000, vae_epochs=10, mdnrnn_epochs=20, cma_pop_size=64,
        cma_generations=800, rollouts_per_candidate=16, eval_episodes=100, eval_every=25,
        eval_rollouts=1024 // 16, mdnrnn_seq_len=999, mdnrnn_batch=100, vae_batch=100,
        vae_lr=1e-4,
    ),
}

# Per-env values layered on the mode preset (still below --config and flags). They are
# what each env needs for its mode to be meaningful on a 2-core CPU: CartPole is learnt
# from pixels (the default agent), long Atari and CarRacing episodes are capped in quick.
# CartPole from pixels trains C on the real env's return, the paper's CarRacing procedure
# (section 3): a dream learnt from ~22-step random episodes was exploited at every done
# threshold and temperature tried (dream 150-450, real 17-40), while CMA-ES on the real
# return of the same linear C on [z, h] reached ~470 in 30 generations (the 100-episode
# figure is benchmarks/results/learning_cartpole_pixels.json).
ENV_PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    # make run's agent (issue 10: >= 475 over 100 episodes for each of 3 seeds, <= 10 min
    # with setup). 20 generations left seeds at 22-474; with frames drawn from the state
    # (envs/cartpole.py) a generation costs a third as much, so CMA-ES runs until 16
    # evaluation episodes average 495 or 6 minutes are spent (the 500-generation cap is
    # out of reach: a 100 cap stopped seed 42 after 183 s, at 195). Setup, V and the final
    # evaluation take about 3 of the 10 minutes (make_run.json's stages_s).
    # V: in one-off experiments on seed 43 (no benchmark JSON), its reconstruction sat on
    # a plateau (the mean pole) for several hundred updates whatever the batch (16, 32,
    # 64), then fell once the pole's angle was in z. 6 epochs at batch 64 stopped on the
    # plateau for 2 seeds of 3 (make_run.json's history), and CMA-ES found nothing on that
    # z; 5 epochs at batch 16 (~1,560 updates) clear it in about the same time (vae_recon
    # in make_run.json). The periodic evaluation scores CMA-ES's mean, not the
    # generation's luckiest sample, which scored lower in the same one-off experiments.
    # C: seed 42's controllers balanced and let the cart drift off the track
    # (cartpole_drift_seed42.json); V does encode x near the centre (a linear read-out of
    # z predicted it almost exactly there in a one-off probe, no JSON), so it is CMA-ES
    # that had not found the x terms in time. One logit instead of two (the same policies
    # in half the weights) and z and h standardised by their moments on the collected
    # episodes; then, since with noisy fitness a larger population beats re-evaluating
    # each candidate (the usual advice for CMA-ES), 32 candidates x 1 episode, the same
    # env steps as 16 x 2. Seed 42 went from 177.8 to 443.6 with the first two and to
    # 491.7 with all three (make_run.json and its history).
    ("CartPole-v1", "quick"): dict(
        obs="pixels", vae_epochs=5, vae_batch=16, mdnrnn_epochs=20, cma_pop_size=32,
        cma_generations=500, rollouts_per_candidate=1, eval_every=3, eval_rollouts=16,
        eval_episodes=100, mdnrnn_hidden=128, train_in_dream=False, cma_target=495.0,
        cma_max_minutes=6.0, eval_point="mean", single_logit=True, standardize_z=True,
        standardize_h=True,
    ),
    ("CartPole-v1", "medium"): dict(obs="pixels"),
    ("CartPole-v1", "full"): dict(obs="pixels"),
    ("ALE/Pong-v5", "quick"): dict(num_random_rollouts=20, max_episode_steps=300),
    ("ALE/Breakout-v5", "quick"): dict(num_random_rollouts=20, max_episode_steps=300),
    # C linear on standardised z, trained on the real return for <= 40 min (measured:
    # benchmarks/results/learning_lunarlander_state.json).
    ("LunarLander-v3", "medium"): dict(
        obs="state", num_random_rollouts=200, mdnrnn_epochs=10, mdnrnn_hidden=64,
        train_in_dream=False, controller_inputs="z", standardize_z=True, eval_point="mean",
        cma_pop_size=32, cma_sigma0=0.5, rollouts_per_candidate=8, cma_generations=400,
        cma_max_minutes=40, eval_every=10, eval_rollouts=32,
    ),
    # Pong medium sized for about an hour on a 2-core CPU (the generic medium's 1,000
    # full-length rollouts would take V most of a day there): whole games, C on
    # standardised z trained on the real return, CMA-ES capped at 25 minutes.
    ("ALE/Pong-v5", "medium"): dict(
        num_random_rollouts=40, vae_epochs=3, mdnrnn_epochs=5, train_in_dream=False,
        controller_inputs="z", standardize_z=True, eval_point="mean", cma_pop_size=16,
        rollouts_per_candidate=1, cma_generations=200, cma_max_minutes=25, eval_every=5,
        eval_rollouts=4,
    ),
    ("CarRacing-v3", "quick"): dict(num_random_rollouts=16, max_episode_steps=200,
                                    dream_max_steps=200),
}


@dataclass
class WorldModelConfig(RunConfig):
    """World Models pipeline settings: V (ConvVAE), M (MDN-RNN), C (CMA-ES controller)."""

    ALGO: ClassVar[str] = "worldmodels"
    RUN_SUFFIX: ClassVar[str] = "worldmodel"  # kept: runs made before the refactor resume
    MODE_PRESETS: ClassVar[dict[str, dict[str, Any]]] = MODE_PRESETS
    ENV_PRESETS: ClassVar[dict[tuple[str, str], dict[str, Any]]] = ENV_PRESETS

    stage: str = opt("all", "'all' or a comma list of collect,vae,encode,mdnrnn,controller,eval")

    # --- collect -------------------------------------------------------------------
    num_random_rollouts: int = opt(200, "random-policy episodes collected for V and M", low=1)
    collect_max_frames: int = opt(0, "stop random collection from pixels once this many "
                                  "frames are stored (0: no cap); quick sets 10,000", low=0)
    collect_workers: int = opt(0, "collection worker processes (0: one per CPU, at most 4)",
                               low=0)
    max_disk_gb: float = opt(0.0, "refuse or stop collection beyond this many GB (0: only "
                             "the free space limits it)", low=0)

    # --- V: ConvVAE ----------------------------------------------------------------
    vae_img_size: int = opt(64, "32 or 64 px frames for V", choices=(32, 64))
    z_dim: int = opt(32, "size of V's latent z", low=1)
    vae_epochs: int = opt(1, "passes of V over the collected frames", low=0)
    vae_batch: int = opt(64, "V's minibatch size (halved on CUDA OOM)", low=1)
    vae_lr: float = opt(1e-3, "V's Adam learning rate", above=0)
    kl_tolerance: float = opt(0.5, "free bits per latent dim of V's KL term (paper's code)")
    kl_weight: float = opt(1.0, "weight of V's KL term")
    grad_accum_steps: int = opt(1, "minibatches accumulated per V update", low=1)
    data_ram_gb: float = opt(2.0, "RAM budget of the streaming data loaders", above=0)
    loader_workers: int = opt(0, "data loader worker processes (0: load in the trainer)",
                              low=0)

    # --- M: MDN-RNN ----------------------------------------------------------------
    mdnrnn_epochs: int = opt(2, "passes of M over the encoded episodes", low=0)
    mdnrnn_hidden: int = opt(256, "M's LSTM size (h)", low=1)
    mdnrnn_gaussians: int = opt(5, "mixture components of M's output", low=1)
    mdnrnn_seq_len: int = opt(32, "M's training sequence length", low=1)
    mdnrnn_batch: int = opt(32, "M's minibatch size in sequences", low=1)
    mdnrnn_lr: float = opt(1e-3, "M's Adam learning rate", above=0)
    done_pos_weight: float = opt(10.0, "weight of the rare done events in M's done loss "
                                 "(notes/cartpole)")
    # M learns on V's posterior samples (paper's code) or on V's mean. The agent reads V's
    # mean in the real env, so with samples the dream shows C noise in every latent dim V
    # leaves unused (sigma ~ 1 there, mu ~ 0 in reality): measured on CartPole pixels, a
    # linear C scoring 500 in reality survived ~25 steps in such a dream.
    mdnrnn_sample_z: bool = opt(False, "M learns on V's posterior samples (paper's code) "
                                "instead of V's mean, which the agent reads")

    # --- C: controller + CMA-ES ----------------------------------------------------
    cma_pop_size: int = opt(8, "CMA-ES population (CMA-ES needs >= 2)", low=2)
    cma_generations: int = opt(5, "CMA-ES generations", low=0)
    cma_sigma0: float = opt(0.1, "CMA-ES initial step size", above=0)
    rollouts_per_candidate: int = opt(2, "episodes averaged into one candidate's fitness",
                                      low=1)
    train_in_dream: bool = opt(True, "train C in M's dream (else on the real env's return)")
    temperature: float = opt(1.15, "dream temperature tau; > 1 makes the dream harder to "
                             "exploit (paper 4.4)", above=0)
    dream_max_steps: int = opt(500, "length cap of a dream rollout", low=1)
    done_threshold: float = opt(0.5, "M's done probability that ends a dream, in (0, 1)")
    eval_every: int = opt(10, "generations between evaluations of the best candidate", low=1)
    eval_rollouts: int = opt(16, "rollouts of those periodic evaluations", low=1)
    real_finetune_s: float = opt(0.0, "seconds of real-env CMA-ES after dream training",
                                 low=0)
    iterations: int = opt(1, "passes of collect-with-C, refit V and M, retrain C (paper "
                          "section 5)", low=1)
    iteration_rollouts: int = opt(0, "episodes collected with C per later pass (0: as "
                                  "--num-random-rollouts)", low=0)
    explore_noise: float = opt(0.1, "those episodes' exploration: random-action probability "
                               "or action std", low=0)
    controller_hidden: int = opt(0, "hidden units of C (0: linear C, as in the paper)", low=0)
    # "zh": C reads [z, h] (paper). "z": C reads z only, the paper's V-only ablation
    # (section 3.4): far fewer parameters, so CMA-ES converges in a CPU budget.
    controller_inputs: str = opt("zh", "zh: C reads [z, h] (paper); z: z only (the V-only "
                                 "ablation)", choices=("zh", "z"))
    # Training-time cuts of real-env fitness rollouts (the eval stage runs whole episodes).
    # On CarRacing most early candidates leave the road within ~100 steps and would spend
    # the rest of 1000 rendered steps at -0.1 each.
    fitness_max_steps: int = opt(0, "cap real-env training rollouts at N steps (0: the "
                                 "episode limit)", low=0)
    no_progress_steps: int = opt(0, "end a training rollout after N steps without a positive "
                                 "reward (0: never)", low=0)
    # A CPU preset can then promise its budget: training stops after the generation that
    # spends it, evaluates, and the pipeline goes on.
    # A solved task needs no more generations: CartPole's 500 is a ceiling, and the time a
    # seed that solves early saves is what lets a slow seed have its generations.
    cma_target: float | None = opt(None, "stop CMA-ES once a periodic real evaluation "
                                   "reaches this mean return (none: never)")
    cma_max_minutes: float = opt(0.0, "stop CMA-ES after this many minutes (0: no limit)",
                                 low=0)
    # With noisy returns (LunarLander's random terrain and wind) the top candidate is often
    # a lucky draw; the mean is pycma's own estimate of the optimum under noise.
    eval_point: str = opt("best", "periodic evaluations score the generation's best "
                          "candidate (paper) or CMA-ES's mean", choices=("best", "mean"))
    # CMA-ES starts isotropic, so badly scaled inputs cost it many generations.
    standardize_z: bool = opt(False, "C reads z standardised by the collected episodes' mean "
                              "and std")
    standardize_h: bool = opt(False, "C reads M's h standardised by its mean and std over "
                              "the collected episodes")
    # argmax over two logits depends only on their difference (models/controller.py)
    single_logit: bool = opt(False, "for two discrete actions, C outputs one number whose "
                             "sign picks the action: the same policies as the paper's one "
                             "output per action, in half the weights")

    def check(self) -> None:
        self.stages()  # raises on unknown names
        if not 0.0 < self.done_threshold < 1.0:
            raise ConfigError(f"--done-threshold must be in (0, 1), got {self.done_threshold}")

    def stages(self) -> list[str]:
        if self.stage.strip() == "all":
            return list(STAGES)
        names = [s.strip() for s in self.stage.split(",") if s.strip()]
        unknown = [s for s in names if s not in STAGES]
        if unknown or not names:
            raise ConfigError(
                f"unknown stage {', '.join(unknown) or '(empty)'} in --stage",
                f"use 'all' or a comma list of: {', '.join(STAGES)}",
            )
        return [s for s in STAGES if s in names]  # always in pipeline order


def env_preset(env_id: str, mode: str) -> dict[str, Any]:
    return dict(ENV_PRESETS.get((env_id, mode), {}))


def config_hash_fields() -> tuple[str, ...]:
    """Fields that change what V and M learn: a run dir made with other values is
    incompatible (issue 6). Controller and eval settings may change on resume."""
    return ("env", "obs", "vae_img_size", "z_dim", "frame_skip", "mdnrnn_hidden",
            "mdnrnn_gaussians")
