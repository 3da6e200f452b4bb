"""Self-play training throughput beside rlgym-learn's: dreamlab's trainer and the field's
Rust-parallelised RLGym v2 trainer, on the same machine, in one run, against raw stepping.

Why: issue 13 asks for "env worker processes with shared-memory observations, or rlgym-learn
if it measures faster here". dreamlab built its own workers (envs/rocket/vector.py and the
self-play trainer); this measures whether rlgym-learn would have been faster on this machine.

Re-run:  PYTHONPATH=logs/rlgym_learn_site .venv/bin/python benchmarks/rocket_rlgym_learn_sps.py
             (about 15 minutes: 3 rounds of four 60-second trainings; rlgym-learn's
             run to at most 3 x 60 s each, --rlgl-cap)
         ... --seconds 30 --rounds 1 --modes rlgym_learn dreamlab_self
Writes benchmarks/results/rocket_rlgym_learn_sps.json (--name another).

The peers are not in the project's extras: `pip install rlgym-learn rlgym-learn-algos`
(2.0.0 and 0.4.2 measured here; they add pydantic 2.14, pydantic-core, annotated-types and
typing-inspection, and resolve together with '.[rocket,bench,dev]': numpy stays at 1.26
under rlgym-rocket-league's numpy<2 pin). To leave the project's environment untouched:
    .venv/bin/pip install --target logs/rlgym_learn_site --no-deps rlgym-learn==2.0.0 \
        rlgym-learn-algos==0.4.2 pydantic==2.14.4 pydantic-core==2.50.5 \
        annotated-types typing-inspection
and run with PYTHONPATH=logs/rlgym_learn_site as above.

What is compared, at one team size (--size, default 1v1), 8 envs (--num-envs):
- raw: RLGym v2 as shipped, one env in one process, random lookup-table actions
  (rocket_throughput.py's `raw`, as rocket_selfplay_sps.py uses it): the issue's baseline.
  Measured before the first training of a round and after every one; each training's
  ratio uses the mean of the raw figures just before and just after it.
- rlgym_learn: rlgym-learn's LearningCoordinator with rlgym-learn-algos' PPOAgentController
  (its actor, critic, GAE and experience buffer), on RLGym built exactly as raw builds it
  (FixedTeamSize + Kickoff mutators, DefaultObs padded to 2 a side, LookupTableAction
  repeated 8 ticks, goal 10 + touch 0.5 rewards, goal / 30 s no-touch / 300 s timeouts).
  rlgym-learn steps one env per process, so --num-envs envs are --rlgl-procs (default the
  same 8) env processes, more than 2 CPUs, as its guides run it: they block (no polling)
  while they wait for actions, and the learner acts once 45% of them have answered (its
  default). It trains every car with the one policy (latest against latest): dreamlab's
  p_self 1.0. Its learner keeps torch's default thread count unless --rlgl-threads.
- rlgym_learn_dreamlab_env: the same trainer on dreamlab's own RLGym object (FastDefaultObs,
  the fused reward of the preset's four terms, the held-action engine:
  RocketLeagueParallelEnv.rlgym without its wrapper), so the trainers are also compared
  on one env, not only each on its own.
- dreamlab_self: `train_selfplay` with the preset's settings (--config, default
  configs/experiments/ppo_rocket_selfplay.yaml) but p_self 1.0: every game against itself,
  both cars trained. Like for like with rlgym-learn: 8 x num_steps env steps, 2 x that
  many samples per update, the same epochs, minibatches and 2 x 256 ReLU networks.
- dreamlab_preset: `train_selfplay` with the preset's pool as it is (p_self 0: the learner
  against the newest snapshot or a past one; half the samples per update, one more forward
  pass per step for the opponent).

The PPO settings come from the YAML through PPOConfig (rlgl_settings): rlgym-learn's
timesteps_per_iteration is num_envs x num_steps x cars (it counts one timestep per car per
env step), its batch_size (one Adam step's rows) is the minibatch dreamlab's update takes at
p_self 1.0 (rollout_batch.minibatch_size: 2,048 rows, 16 per epoch, at 1v1 with 2v2
padding), n_minibatches 1, n_epochs, learning rate, entropy, clip range, gradient-norm clip,
gamma and lambda as the YAML; the experience buffer holds one iteration (on-policy, as
dreamlab). rlgym-learn-algos 0.4.2 asks for pinned memory, which CPU-only torch cannot give;
where pinning is unavailable its buffer is made unpinned (unpin_if_unavailable).

What is counted, for a fixed wall time (--seconds) per training, in whole iterations: each
trainer runs PPO iterations (collect a rollout, then learn from it) until its loop has run
--seconds, then finishes the iteration under way (rlgym-learn: unless --rlgl-cap, default
3 x --seconds, passes first; then only whole iterations count, or, with none, the
unfinished one's collection, flagged partial_iteration). Setup (processes, networks) and
teardown are outside the figures; every training starts from a fresh network in a temp dir.
- rlgym-learn: its PPO controller's own per-iteration counters (what its metrics logger
  reports): "Timesteps Collected" (car timesteps it learns from) over "Total Iteration Time"
  (from the end of one learning phase to the end of the next; the first iteration's clock
  is started when the loop starts, not at construction, so setup is left out), summed over
  the session's iterations. Divided by the cars in a game (2 at 1v1) that is env steps/s,
  the unit of the other figures; agent_sps keeps its own unit. collect_sps: the same
  timesteps over its "Timestep Collection Time" alone. Beside them, how often the learner
  waited 1 s or more for env responses (stalls, stall_s, longest_wait_s) and
  sps_excluding_stalls, the figure without those waits: not a result, a diagnosis. An
  rlgym-learn env process waits at most 5 s for its next action, then signals the learner
  again; on the 2-CPU machine during a smoke run, many loop passes took up to 5 s that way.
- dreamlab: the trainer's perf/overall_sps (env steps over all envs / the loop's wall time:
  collection, GAE, PPO epochs, snapshots), and perf/collect_sps (collection alone). Its
  time budget is a StopRule, whose clock starts with the run's setup, so its loop may end
  up to one iteration sooner than rlgym-learn's.
Rounds run the trainings in rotated order; the median round is the headline, every round
and the load average beside it. Checkpoints and rlgym-learn's shared-memory files go to a
temp dir; no wandb logger is built (WANDB_MODE=disabled besides).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rocket_selfplay_sps import (  # noqa: E402
    PRESET,
    preset_config,
    raw_runner,
    session_metric,
    settings_of,
    yaml_num_steps,
)

from _common import provenance, save_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# A wait this long for env responses is not stepping (a step takes well under a
# millisecond): rlgym-learn's env process waits at most 5 s for its next action before it
# signals the learner again, and seen here, that recovery paced many loop passes (waits of
# up to 5 s, shorter where the env process had begun its 5 s before the learner waited).
STALL_S = 1.0
MODES = ("rlgym_learn", "rlgym_learn_dreamlab_env", "dreamlab_self", "dreamlab_preset")
INSTALL = ("rlgym-learn is not importable: pip install rlgym-learn==2.0.0 "
           "rlgym-learn-algos==0.4.2 (or see this script's docstring for a --target install "
           "used with PYTHONPATH=logs/rlgym_learn_site)")


def log(msg: str) -> None:
    print(f"[rocket_rlgym_learn_sps {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def cars_in(size: str) -> int:
    """Cars in a game of team size NvM."""
    return sum(int(x) for x in size.split("v"))


# ---- the pure parts: settings, figures, rounds ------------------------------------------

def rlgl_settings(ppo: dict[str, Any], cars: int, max_team_size: int) -> dict[str, Any]:
    """rlgym-learn's PPO settings for dreamlab's at p_self 1.0.

    ppo: PPOConfig's values (num_envs, num_steps, batch_size, num_epochs, learning_rate,
    gamma, gae_lambda, ent_coef, clip_coef, max_grad_norm, hidden_size, hidden_layers,
    norm_reward). dreamlab's rollout is (num_steps, num_envs x max_team_size x 2) columns
    with every car's column, the padding dropped after GAE; its minibatch count stays the
    padded layout's. rlgym-learn counts timesteps per car and takes one Adam step per
    `batch_size` rows, so that is dreamlab's minibatch and n_minibatches is 1.
    """
    from dreamlab.ppo.selfplay.rollout_batch import minibatch_size

    env_steps = ppo["num_envs"] * ppo["num_steps"]
    samples = env_steps * cars
    padded = env_steps * max_team_size * 2
    rows = minibatch_size(padded, samples, ppo["batch_size"])
    return {"timesteps_per_iteration": samples, "env_steps_per_iteration": env_steps,
            "batch_size": rows, "n_minibatches": 1,
            "adam_steps_per_epoch": samples // rows, "n_epochs": ppo["num_epochs"],
            "learning_rate": ppo["learning_rate"], "ent_coef": ppo["ent_coef"],
            "clip_range": ppo["clip_coef"],
            "max_grad_norm": ppo["max_grad_norm"] if ppo["max_grad_norm"] > 0 else None,
            "gamma": ppo["gamma"], "lmbda": ppo["gae_lambda"],
            "standardize_rewards": bool(ppo["norm_reward"]),
            "layer_sizes": [ppo["hidden_size"]] * ppo["hidden_layers"],
            "buffer_size": samples}


def rlgl_figures(iterations: list[tuple[int, float, float]], cars: int) -> dict[str, Any]:
    """One rlgym-learn session's figures from its iterations' (timesteps collected,
    collection seconds, iteration seconds): env steps per second (timesteps / cars) over
    the whole iterations, over collection alone, and timesteps (its unit) per second."""
    timesteps = sum(n for n, _, _ in iterations)
    collect_s = sum(c for _, c, _ in iterations)
    loop_s = sum(t for _, _, t in iterations)
    return {"sps": round(timesteps / cars / loop_s, 1),
            "collect_sps": round(timesteps / cars / collect_s, 1),
            "agent_sps": round(timesteps / loop_s, 1),
            "env_steps": timesteps // cars, "timesteps": timesteps,
            "loop_s": round(loop_s, 2), "iterations": len(iterations)}


def stall_figures(waits: list[tuple[float, float]], window_end: float, loop_s: float,
                  env_steps: int, threshold: float = STALL_S) -> dict[str, Any]:
    """The learner's waits for env responses, (start, seconds) each, that ended inside the
    measured window and lasted `threshold` or more: how many, their seconds, the longest
    wait of all, and the env steps per second the loop would have made without them."""
    inside = [w for t, w in waits if t + w <= window_end]
    stalls = [w for w in inside if w >= threshold]
    return {"stalls": len(stalls), "stall_s": round(sum(stalls), 2),
            "longest_wait_s": round(max(inside, default=0.0), 3),
            "sps_excluding_stalls": round(env_steps / max(loop_s - sum(stalls), 1e-9), 1)}


def with_raw(figures: dict[str, Any], raw_before: float, raw_after: float) -> dict[str, Any]:
    """A training's figures with the raw stepping measured just before and after it."""
    raw = (raw_before + raw_after) / 2
    return {**figures, "raw_sps": round(raw, 1),
            "ratio_to_raw": round(figures["sps"] / raw, 3),
            "collect_ratio_to_raw": round(figures["collect_sps"] / raw, 3)}


def rotated(modes: list[str], k: int) -> list[str]:
    """Round k's order: every training goes first in some round."""
    k %= len(modes)
    return modes[k:] + modes[:k]


def summarize(rounds: list[dict[str, Any]], reference: str = "rlgym_learn") -> dict[str, Any]:
    """Per training, the median over rounds of each figure; beside the others, the median
    of their same-round ratio to `reference` (when it ran)."""
    out: dict[str, Any] = {}
    modes = list(dict.fromkeys(m for r in rounds for m in r["modes"]))
    for mode in modes:
        rows = [r["modes"][mode] for r in rounds if mode in r["modes"]]
        keys = ["sps", "collect_sps", "raw_sps", "ratio_to_raw", "collect_ratio_to_raw"]
        keys += [k for k in ("stalls", "stall_s", "sps_excluding_stalls")
                 if all(k in row for row in rows)]
        out[mode] = {key: round(statistics.median(row[key] for row in rows), 3)
                     for key in keys}
        pairs = [(r["modes"][mode]["sps"], r["modes"][reference]["sps"]) for r in rounds
                 if mode != reference and mode in r["modes"] and reference in r["modes"]]
        if pairs:
            out[mode][f"ratio_to_{reference}"] = round(
                statistics.median(a / b for a, b in pairs), 3)
    return out


# ---- the envs rlgym-learn's processes build (module level: pickled by name) --------------

def shipped_env(size: str) -> Any:
    """RLGym as rocket_throughput.py's raw mode builds it."""
    from rocket_throughput import shipped_rlgym

    return shipped_rlgym(size)


def dreamlab_rlgym(rocket: dict[str, Any]) -> Any:
    """dreamlab's RLGym object (its obs builder, reward, engine, mutators), without the
    PettingZoo wrapper around it."""
    from dreamlab.envs.rocket import RocketEnvConfig
    from dreamlab.envs.rocket.env import RocketLeagueParallelEnv

    return RocketLeagueParallelEnv(RocketEnvConfig.from_dict(rocket)).rlgym


# ---- the trainings -----------------------------------------------------------------------

def require_rlgym_learn() -> None:
    try:
        import rlgym_learn  # noqa: F401
        import rlgym_learn_algos  # noqa: F401
    except ImportError:
        raise SystemExit(INSTALL) from None


def rlgl_session(env_fn: Callable[[], Any], s: dict[str, Any], args: argparse.Namespace,
                 work: Path) -> dict[str, Any]:
    """rlgym-learn's PPO for --seconds of whole iterations; its own counters' figures."""
    import numpy as np
    import torch
    from rlgym_learn import (
        BaseConfigModel,
        LearningCoordinator,
        LearningCoordinatorConfigModel,
        ProcessConfigModel,
        SerdeTypesModel,
    )
    from rlgym_learn.pyany_serde import PyAnySerdeType
    from rlgym_learn_algos.ppo import (
        BasicCritic,
        DiscreteFF,
        ExperienceBufferConfigModel,
        GAETrajectoryProcessor,
        GAETrajectoryProcessorConfigModel,
        NumpyExperienceBuffer,
        PPOAgentController,
        PPOAgentControllerConfigModel,
        PPOLearnerConfigModel,
        PPOMetricsLogger,
        SeparateActorCritic,
    )

    layers = tuple(s["layer_sizes"])

    def actor_critic(obs_space: Any, action_space: Any, dtype: Any, device: Any,
                     name: str | None) -> Any:
        return SeparateActorCritic(DiscreteFF(obs_space[1], action_space[1], layers, dtype,
                                              device),
                                   BasicCritic(obs_space[1], layers, dtype, device), name)

    def optimizers(ac: Any, groups: dict[str, dict[str, Any]], name: str | None) -> list:
        return [torch.optim.Adam([{"params": ac.actor.parameters(), **groups["actor"]},
                                  {"params": ac.critic.parameters(), **groups["critic"]}])]

    class Recorder(PPOMetricsLogger):
        """Keeps each iteration's counters instead of printing them, and ends the loop
        once --seconds have passed (at the end of an iteration)."""

        def __init__(self) -> None:
            super().__init__()
            self.iterations: list[tuple[int, float, float]] = []
            self.start = 0.0
            self.stopped = False

        def stop(self) -> None:
            coordinator.config.base_config.timestep_limit = 0  # read once a loop pass
            self.stopped = True

        def collect_agent_metrics(self, data: Any) -> None:
            self.iterations.append((int(data.timesteps_collected),
                                    float(data.timestep_collection_time),
                                    float(data.iteration_time)))
            if time.perf_counter() - self.start >= args.seconds:
                self.stop()

        def report_metrics(self) -> None:
            pass

    tuple_space = PyAnySerdeType.TUPLE((PyAnySerdeType.STRING(), PyAnySerdeType.INT()))
    lr = s["learning_rate"]
    config = LearningCoordinatorConfigModel(
        base_config=BaseConfigModel(
            serde_types=SerdeTypesModel(
                agent_id_serde_type=PyAnySerdeType.STRING(),
                action_serde_type=PyAnySerdeType.NUMPY(np.int64),
                obs_serde_type=PyAnySerdeType.NUMPY(np.float64),  # RLGym's obs dtype
                reward_serde_type=PyAnySerdeType.FLOAT(),
                obs_space_serde_type=tuple_space,
                action_space_serde_type=tuple_space),
            flinks_folder=str(work / "flinks"), timestep_limit=10**15),
        process_config=ProcessConfigModel(n_proc=args.rlgl_procs),
        agent_controller_config=PPOAgentControllerConfigModel(
            timesteps_per_iteration=s["timesteps_per_iteration"], save_every_ts=10**15,
            n_checkpoints_to_keep=1, save_mid_iteration_data_in_checkpoint=False,
            run_name="bench",
            learner_config=PPOLearnerConfigModel(
                n_epochs=s["n_epochs"], batch_size=s["batch_size"],
                n_minibatches=s["n_minibatches"], ent_coef=s["ent_coef"],
                clip_range=s["clip_range"], max_grad_norm=s["max_grad_norm"],
                optimizer_named_parameter_group_kwargs={"actor": {"lr": lr},
                                                        "critic": {"lr": lr}},
                device="cpu"),
            experience_buffer_config=ExperienceBufferConfigModel(
                max_size=s["buffer_size"],
                trajectory_processor_config=GAETrajectoryProcessorConfigModel(
                    gamma=s["gamma"], lmbda=s["lmbda"],
                    standardize_rewards=s["standardize_rewards"]))),
        agent_controller_save_folder=str(work / "checkpoints"))
    recorder = Recorder()
    controller = PPOAgentController(actor_critic, optimizers,
                                    NumpyExperienceBuffer(GAETrajectoryProcessor()),
                                    metrics_logger=recorder)
    threads = torch.get_num_threads()
    if args.rlgl_threads:
        torch.set_num_threads(args.rlgl_threads)
    try:
        coordinator = LearningCoordinator(env_fn, controller, config=config)
        unpin_if_unavailable(controller.experience_buffer)
        # How long the learner waits for the env processes each loop pass (STALL_S).
        epi = coordinator.env_process_interface
        collect = epi.collect_env_responses
        waits: list[tuple[float, float]] = []

        def timed_collect(*a: Any) -> Any:
            t = time.perf_counter()
            out = collect(*a)
            waits.append((t, time.perf_counter() - t))
            return out

        epi.collect_env_responses = timed_collect
        # Whole iterations, but not without end: past --rlgl-cap the loop stops mid-iteration.
        cap = threading.Timer(args.rlgl_cap or 3 * args.seconds, recorder.stop)
        cap.daemon = True
        # The controller's clocks started when it was built: restart them with the loop.
        recorder.start = controller.iteration_start_time = \
            controller.timestep_collection_start_time = time.perf_counter()
        cap.start()
        coordinator.start()  # prints and swallows errors and Ctrl-C; ends the processes
        loop_end = time.perf_counter()
        cap.cancel()
        torch_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(threads)
    if not recorder.stopped:
        raise RuntimeError("rlgym-learn's loop ended before --seconds had passed (an error "
                           "or Ctrl-C, printed above)")
    cars = cars_in(args.size)
    if recorder.iterations:
        figures = rlgl_figures(recorder.iterations, cars)
        window_end = recorder.start + sum(t for _, _, t in recorder.iterations)
    else:  # capped inside the first iteration: collection only, no learning phase
        part = loop_end - recorder.start
        figures = {**rlgl_figures([(controller.iteration_timesteps, part, part)], cars),
                   "iterations": 0, "partial_iteration": True}
        window_end = loop_end
    return {**figures,
            **stall_figures(waits, window_end, figures["loop_s"], figures["env_steps"]),
            "torch_threads": torch_threads,
            "coordinator_timesteps": int(coordinator.cumulative_timesteps)}


def unpin_if_unavailable(buffer: Any) -> None:
    """rlgym-learn-algos 0.4.2's experience buffer asks for pinned CPU tensors, which a
    CPU-only torch cannot allocate ("pin_memory=True requires a CUDA or other accelerator
    backend"): its first learning phase fails. Pinning only speeds copies to a GPU, so
    where torch cannot pin, the buffer's tensors (allocated at their first append, after
    setup) are made plain."""
    import torch

    try:
        torch.empty(1, pin_memory=True)
        return
    except RuntimeError:
        pass
    for name in ("log_probs", "values", "advantages"):
        getattr(buffer, name).pin_memory = False


def dreamlab_session(args: argparse.Namespace, run_dir: Path, p_self: float | None,
                     stop: Any = None) -> dict[str, Any]:
    """train_selfplay with the preset's settings (p_self overridden unless None) for
    --seconds of whole updates, from a fresh run dir; the trainer's own figures."""
    from dreamlab.ppo.selfplay.train import train_selfplay
    from dreamlab.runtime.stop import StopRule

    cfg = preset_config(args.size, args, run_dir, 10**13)  # the budget is the StopRule
    if p_self is not None:
        cfg.selfplay["p_self"] = p_self
    result = train_selfplay(cfg, stop or StopRule(max_minutes=args.seconds / 60.0))
    logs = run_dir / "logs"
    sps = session_metric(logs, "perf/overall_sps", 0)
    steps = int(result.evaluation.extra["train_env_steps"])
    return {"sps": round(sps, 1),
            "collect_sps": round(session_metric(logs, "perf/collect_sps", 0), 1),
            "env_steps": steps, "loop_s": round(steps / sps, 2),
            "updates": steps // (args.num_envs * args.num_steps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="each training's loop time (whole iterations, at least one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--name", default="rocket_rlgym_learn_sps")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES),
                        help="the trainings (raw always runs between them)")
    parser.add_argument("--size", default="1v1")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--num-steps", type=int, default=None,
                        help="rollout per env (default the YAML's num_steps)")
    parser.add_argument("--config", type=Path, default=PRESET,
                        help="the self-play YAML whose settings both trainers take")
    parser.add_argument("--vectorization", default="auto", choices=("auto", "sync", "async"),
                        help="dreamlab's env layout (auto: on 2 CPUs one worker process "
                        "beside a share stepped by the learner's)")
    parser.add_argument("--rlgl-procs", type=int, default=None,
                        help="rlgym-learn's env processes, one env each (default --num-envs)")
    parser.add_argument("--rlgl-threads", type=int, default=0,
                        help="torch threads of rlgym-learn's learner (0: torch's default, "
                        "as shipped)")
    parser.add_argument("--rlgl-cap", type=float, default=0.0,
                        help="stop rlgym-learn mid-iteration after this many seconds (0: 3 x "
                        "--seconds); with no whole iteration by then its figure is the "
                        "collection's alone, flagged partial_iteration")
    parser.add_argument("--raw-seconds", type=float, default=4.0)
    args = parser.parse_args()
    if any(m.startswith("rlgym_learn") for m in args.modes):
        require_rlgym_learn()
    os.environ.setdefault("WANDB_MODE", "disabled")
    from dreamlab.ppo.selfplay.preset import split_selfplay_yaml

    preset = split_selfplay_yaml(args.config)
    if args.num_steps is None:
        args.num_steps = yaml_num_steps(args.config)
    args.rlgl_procs = args.rlgl_procs or args.num_envs
    cfg = preset_config(args.size, args, Path(tempfile.gettempdir()), 1)
    names = ("num_envs", "num_steps", "batch_size", "num_epochs", "learning_rate", "gamma",
             "gae_lambda", "ent_coef", "clip_coef", "max_grad_norm", "hidden_size",
             "hidden_layers", "norm_reward")
    rlgl = rlgl_settings({k: getattr(cfg, k) for k in names}, cars_in(args.size),
                         preset.rocket.max_team_size)
    if cfg.activation != "relu":
        log(f"note: the YAML's activation is {cfg.activation}; rlgym-learn's nets are ReLU")
    rocket = {**vars(preset.rocket), "team_size": args.size}
    env_fns = {"rlgym_learn": functools.partial(shipped_env, args.size),
               "rlgym_learn_dreamlab_env": functools.partial(dreamlab_rlgym, rocket)}

    load_before = os.getloadavg()
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        from dreamlab.runtime.stop import StopRule

        # Warm-up, not recorded: torch's first forward/backward and RocketSim's mesh load
        # would otherwise be charged to whichever training runs first.
        warm = argparse.Namespace(**{**vars(args), "num_steps": 16})
        dreamlab_session(warm, Path(tmp) / "warmup", None, StopRule(max_iterations=1))
        raw = raw_runner(args.size)
        raw(0.3)

        def train(mode: str, r: int) -> dict[str, Any]:
            work = Path(tmp) / f"{mode}_{r}"
            if mode in env_fns:
                return rlgl_session(env_fns[mode], rlgl, args, work)
            return dreamlab_session(args, work, 1.0 if mode == "dreamlab_self" else None)

        for r in range(args.rounds):
            order = rotated(list(args.modes), r)
            before = raw(args.raw_seconds)
            row: dict[str, Any] = {"order": order, "modes": {}}
            for mode in order:
                figures = train(mode, r)
                after = raw(args.raw_seconds)
                row["modes"][mode] = f = with_raw(figures, before, after)
                stalls = f" ({f['stalls']} waits of >= {STALL_S} s: {f['stall_s']:.0f} s)" \
                    if "stalls" in f else ""
                log(f"round {r + 1} {mode}: {f['sps']:.0f} env steps/s overall, "
                    f"{f['collect_sps']:.0f} collecting, x{f['ratio_to_raw']:.2f} raw "
                    f"({f['raw_sps']:.0f}/s), {f['loop_s']:.0f} s loop{stalls}")
                before = after
            row["load_1min_after"] = round(os.getloadavg()[0], 2)
            rounds.append(row)
    results = summarize(rounds)
    for mode, f in results.items():
        parts = [f"{f['sps']:.0f} env steps/s", f"x{f['ratio_to_raw']:.2f} raw"]
        if "ratio_to_rlgym_learn" in f:
            parts.append(f"x{f['ratio_to_rlgym_learn']:.2f} rlgym-learn")
        if "stalls" in f:
            parts.append(f"{f['stalls']:.0f} stalls, {f['sps_excluding_stalls']:.0f} env "
                         "steps/s without them")
        log(f"{mode} (median round): {', '.join(parts)}")
    from importlib.metadata import PackageNotFoundError, version

    def installed(dist: str) -> str | None:
        try:
            return version(dist)
        except PackageNotFoundError:
            return None

    payload = {
        **provenance(load_before),
        "settings": {**settings_of(args),
                     "rlgym_learn": {**rlgl, "versions": {
                         d: installed(d) for d in ("rlgym-learn", "rlgym-learn-algos",
                                                   "pydantic", "rlgym")}},
                     "note": "sps = env steps per second of the training loop, whole "
                             "iterations, setup excluded. rlgym-learn: its PPO controller's "
                             "Timesteps Collected (one per car per env step) / cars over its "
                             "Total Iteration Time; dreamlab: perf/overall_sps. raw: RLGym "
                             "as shipped, one env, one process, random actions, measured "
                             "just before and after each training"},
        "results": results,
        "rounds": rounds,
    }
    path = save_result(args.name, payload)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
