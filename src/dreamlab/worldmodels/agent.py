"""The World Models agent in the real env: V + M + C batched across a vector of envs.

Per step (Ha & Schmidhuber 2018, section 2, Figure 4): V encodes the frame to z_t, C acts
on [z_t, h_t], and M takes (z_t, a_t) to update h. Issue: "each worker steps a vector of
envs and batches V+M inference across them; one env per process with a model copy in each
is the slow design", so one process here runs K envs and does one V encode, one C
einsum and one M step for all K per step. Every env slot can carry its own controller
(row of `params`), so a CMA-ES population is evaluated in the same batch.

`RealEvaluator` spreads episodes over worker processes, each of which loads V and M once
from the run directory and keeps its envs for the life of the stage. State envs skip V:
z is the normalised state (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamlab.models.controller import (
    ControllerSpec,
    actions_to_m_input,
    controller_act,
    controller_checkpoint,
    controller_from_checkpoint,
)
from dreamlab.runtime.atomic import atomic_torch_save, safe_torch_load
from dreamlab.runtime.cpus import cpu_count

# --- controller_best.pt ----------------------------------------------------------------


def save_controller(path: str | Path, params: torch.Tensor, spec: ControllerSpec,
                    fitness: float, generation: int, **extra: Any) -> None:
    """Write controller_best.pt atomically (a kill mid-save keeps the previous best)."""
    atomic_torch_save(path, controller_checkpoint(params, spec, fitness, generation, **extra))


def load_controller(path: str | Path) -> tuple[torch.Tensor, ControllerSpec, dict[str, Any]]:
    """(params (P,), spec, metadata); CheckpointError for a missing or foreign file."""
    return controller_from_checkpoint(safe_torch_load(path))


def load_world_model(vae_path: str | Path | None, mdnrnn_path: str | Path,
                     device: torch.device | str = "cpu") -> tuple[Any, Any]:
    """V (None for state envs) and M in eval mode, from their checkpoints."""
    from dreamlab.models.mdnrnn import MDNRNN
    from dreamlab.models.vae import ConvVAE

    vae = None
    if vae_path is not None:
        vae = ConvVAE.from_checkpoint(safe_torch_load(vae_path)).to(device).eval()
    mdnrnn = MDNRNN.from_checkpoint(safe_torch_load(mdnrnn_path)).to(device).eval()
    return vae, mdnrnn


# --- the batched policy ----------------------------------------------------------------


class WorldModelPolicy:
    """V + M + C over K env slots, each slot with its own controller parameters."""

    def __init__(self, spec: ControllerSpec, mdnrnn: Any, vae: Any | None, env_info: Any,
                 device: torch.device | str = "cpu") -> None:
        self.spec = spec
        self.mdnrnn = mdnrnn
        self.vae = vae
        self.env_info = env_info
        self.device = torch.device(device)
        if env_info.obs == "pixels" and vae is None:
            raise ValueError("pixel observations need a VAE")
        self.h = self.c = torch.zeros(0)

    def reset(self, num_slots: int) -> None:
        self.h, self.c = self.mdnrnn.initial_state(num_slots, self.device)

    def reset_slots(self, slots: list[int]) -> None:
        """A new episode in these slots: M's memory starts empty, as in training."""
        if slots:
            h0, c0 = self.mdnrnn.initial_state(len(slots), self.device)
            self.h[:, slots] = h0
            self.c[:, slots] = c0

    @torch.no_grad()
    def encode(self, obs: np.ndarray) -> torch.Tensor:
        """z for a batch of observations: V's mu for frames (deterministic, so fitness
        depends only on the env), the normalised state for state envs."""
        if self.vae is None:
            from dreamlab.envs import normalize_state

            return torch.from_numpy(normalize_state(self.env_info, obs)).to(self.device)
        x = torch.from_numpy(np.ascontiguousarray(obs)).to(self.device)
        x = x.permute(0, 3, 1, 2).float().div_(255.0)
        mu, _ = self.vae.encode(x)
        return mu.float()

    @torch.no_grad()
    def act(self, obs: np.ndarray, params: torch.Tensor, slots: list[int],
            explore: Callable[[np.ndarray], Any] | None = None) -> Any:
        """Actions for the given slots (obs and params rows in the same order), and M's
        memory of those slots advanced by one step. `explore` turns C's greedy actions
        into the ones taken (iterative training's noise); M is fed the actions taken, so
        h is the memory the agent would have."""
        z = self.encode(obs)
        h, c = self.h[:, slots], self.c[:, slots]
        feats = torch.cat([z, h[-1]], dim=1)
        actions = controller_act(params.to(self.device), feats, self.spec)
        if explore is not None:
            taken = explore(actions.cpu().numpy())
            actions = torch.as_tensor(np.asarray(taken))
        _, (h2, c2) = self.mdnrnn.step(z, actions_to_m_input(actions, self.spec), (h, c))
        self.h[:, slots] = h2
        self.c[:, slots] = c2
        return taken if explore is not None else actions.cpu().numpy()


@dataclass
class RealRollouts:
    """Result of running N real episodes: returns and lengths per episode, frames of the
    episodes asked to be captured."""

    returns: np.ndarray
    lengths: np.ndarray
    frames: dict[int, list[np.ndarray]] = field(default_factory=dict)

    @property
    def env_steps(self) -> int:
        return int(self.lengths.sum())


def run_episodes(policy: WorldModelPolicy, envs: list[Any], params: torch.Tensor,
                 seeds: list[int], capture: tuple[int, ...] = (),
                 frame_sink: Callable[[int, np.ndarray], None] | None = None,
                 no_progress_steps: int = 0,
                 explore: Callable[[int, np.ndarray], Any] | None = None,
                 on_episode: Callable[[int, dict[str, np.ndarray]], None] | None = None,
                 ) -> RealRollouts:
    """Run episode n with controller params[n] from env.reset(seed=seeds[n]), over the
    given envs as parallel slots (a free slot takes the next episode).

    Deterministic: an episode's outcome depends only on its params and seed (argmax C,
    V's mu), not on which slot or batch it ran in, up to float rounding of batched
    matmuls. Captured episodes record env.render() frames when the env renders rgb_array
    (the native picture, best for videos), else the observations; with a frame_sink
    each frame goes to frame_sink(episode, frame) instead of into memory (a 500-step
    600x400 episode is 360 MB of frames).

    no_progress_steps > 0 ends an episode after that many steps in a row without a
    positive reward: a training-time cut for envs like CarRacing, where a candidate that
    has left the road or stopped would otherwise burn its remaining ~1000 rendered steps
    collecting -0.1 each. The return so far is kept, so a car that stalls still ranks below
    one that drives on; final evaluations run whole episodes.

    explore(episode, greedy_action) -> the action taken (iterative training's noise);
    on_episode(episode, {obs, actions, rewards, terminated}) receives each whole episode
    as it ends, in completion order (the collect stage stores them). This is the one
    episode scheduler: evaluation, real-env fitness and collection with C all use it.
    """
    n = params.shape[0]
    if len(seeds) != n:
        raise ValueError(f"{len(seeds)} seeds for {n} episodes")
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    frames: dict[int, list[np.ndarray]] = {i: [] for i in capture}
    wanted = set(capture)
    k = min(len(envs), n)
    policy.reset(k)
    slot_ep = [-1] * k
    idle = [0] * k  # steps in a row without a positive reward, per slot
    obs: list[Any] = [None] * k
    next_ep = 0
    records: dict[int, dict[str, list]] = {}

    def start(slot: int) -> None:
        nonlocal next_ep
        slot_ep[slot] = next_ep
        idle[slot] = 0
        if next_ep < n:
            obs[slot], _ = envs[slot].reset(seed=int(seeds[next_ep]))
            _capture(slot, obs[slot])
            if on_episode is not None:
                records[next_ep] = {"obs": [obs[slot]], "actions": [], "rewards": [],
                                    "terminated": []}
            next_ep += 1

    def _capture(slot: int, o: Any) -> None:
        ep = slot_ep[slot]
        if ep in wanted:
            env = envs[slot]
            frame = env.render() if getattr(env, "render_mode", None) == "rgb_array" else None
            frame = np.asarray(frame if frame is not None else o, dtype=np.uint8)
            if frame_sink is not None:
                frame_sink(ep, frame)
            else:
                frames[ep].append(frame)

    for s in range(k):
        start(s)
    while True:
        slots = [s for s in range(k) if slot_ep[s] < n]
        if not slots:
            break
        eps = [slot_ep[s] for s in slots]

        def noisy(greedy: np.ndarray, eps: list[int] = eps) -> list[Any]:
            assert explore is not None
            return [explore(ep, greedy[j]) for j, ep in enumerate(eps)]

        actions = policy.act(np.stack([obs[s] for s in slots]), params[eps], slots,
                             noisy if explore is not None else None)
        restarted = []
        for j, s in enumerate(slots):
            a = actions[j]
            if explore is not None:
                act = a
            else:
                act = int(a) if policy.spec.action_kind == "discrete" else a.astype(np.float32)
            o, r, terminated, truncated, _ = envs[s].step(act)
            ep = slot_ep[s]
            returns[ep] += float(r)
            lengths[ep] += 1
            idle[s] = 0 if r > 0 else idle[s] + 1
            stalled = 0 < no_progress_steps <= idle[s]
            if on_episode is not None:
                rec = records[ep]
                rec["obs"].append(o)
                rec["actions"].append(act)
                rec["rewards"].append(r)
                rec["terminated"].append(terminated)
                if terminated or truncated or stalled:
                    on_episode(ep, _stack_episode(records.pop(ep), policy.env_info))
            if terminated or truncated or stalled:
                start(s)
                restarted.append(s)
            else:
                obs[s] = o
                _capture(s, o)
        policy.reset_slots(restarted)
    return RealRollouts(returns, lengths, frames)


def _stack_episode(rec: dict[str, list], env_info: Any) -> dict[str, np.ndarray]:
    act_dtype = np.int64 if env_info.action.kind == "discrete" else np.float32
    return {"obs": np.stack(rec["obs"]),
            "actions": np.asarray(rec["actions"], dtype=act_dtype),
            "rewards": np.asarray(rec["rewards"], dtype=np.float32),
            "terminated": np.asarray(rec["terminated"], dtype=bool)}


# --- worker processes -------------------------------------------------------------------


@dataclass(frozen=True)
class PolicySetup:
    """Everything a worker needs to build its envs and load V and M (picklable)."""

    env_info: Any
    spec: ControllerSpec
    mdnrnn_path: str
    vae_path: str | None
    img_size: int = 64
    max_episode_steps: int = 0
    frame_skip: int = 1
    envs_per_worker: int = 16
    render_mode: str | None = None
    no_progress_steps: int = 0  # see run_episodes; 0 runs whole episodes

    def make_envs(self, count: int) -> list[Any]:
        from dreamlab.envs import make_env

        info = self.env_info
        return [make_env(info.env_id, obs=info.obs, img_size=self.img_size,
                         max_episode_steps=self.max_episode_steps, frame_skip=self.frame_skip,
                         render_mode=self.render_mode) for _ in range(count)]

    def make_policy(self, device: torch.device | str = "cpu") -> WorldModelPolicy:
        vae, mdnrnn = load_world_model(self.vae_path, self.mdnrnn_path, device)
        return WorldModelPolicy(self.spec, mdnrnn, vae, self.env_info, device)


class _Runner:
    """One process's policy and envs, built once and reused for every batch."""

    def __init__(self, setup: PolicySetup, device: torch.device | str = "cpu") -> None:
        self.setup = setup
        self.policy = setup.make_policy(device)
        self.envs: list[Any] = []

    def run(self, params: np.ndarray, seeds: list[int],
            capture: tuple[int, ...] = ()) -> RealRollouts:
        want = min(self.setup.envs_per_worker, len(seeds))
        if len(self.envs) < want:
            self.envs += self.setup.make_envs(want - len(self.envs))
        return run_episodes(self.policy, self.envs[:want], torch.as_tensor(params), seeds,
                            capture, no_progress_steps=self.setup.no_progress_steps)

    def close(self) -> None:
        for env in self.envs:
            env.close()
        self.envs = []


_WORKER: _Runner | None = None


def _worker_init(setup: PolicySetup) -> None:
    global _WORKER
    # One torch thread per worker: several busy processes at 2 threads each oversubscribe
    # a small CPU badly (notes: a 90 s run took 590 s).
    torch.set_num_threads(1)
    _WORKER = _Runner(setup)


def _worker_init_shipped(setup: PolicySetup, checkpoints: dict[str, bytes]) -> None:
    """A Ray worker may run on a node without the run directory: V and M arrive as bytes
    (from the object store, once per worker) and are loaded from a private temp dir."""
    import dataclasses
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="dreamlab-wm-"))
    try:
        for name, data in checkpoints.items():
            (tmp / name).write_bytes(data)
        _worker_init(dataclasses.replace(
            setup, mdnrnn_path=str(tmp / "mdnrnn.pt"),
            vae_path=str(tmp / "vae.pt") if setup.vae_path else None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # V and M are in memory now


def _worker_run(job: tuple[np.ndarray, list[int]]) -> tuple[np.ndarray, np.ndarray]:
    assert _WORKER is not None
    out = _WORKER.run(*job)
    return out.returns, out.lengths


class RealEvaluator:
    """Runs batches of real episodes in-process (workers <= 1) or over worker processes.

    Workers come from the run's executor (parallel/: spawned processes, so a parent that
    already runs torch threads cannot deadlock them), start once and keep V, M and their
    envs until close(). Episodes are dealt
    to workers round-robin (episode i to worker i % W), so a worker's batch, and hence
    every result, is the same from run to run for a given worker count.
    """

    def __init__(self, setup: PolicySetup, workers: int = 1,
                 local_device: torch.device | str = "cpu", executor: str = "local",
                 ray_address: str | None = None) -> None:
        self.setup = setup
        self.executor = executor
        self.ray_address = ray_address
        self.workers = max(1, int(workers))
        self.local_device = local_device  # workers always run V and M on the CPU
        self._local: _Runner | None = None
        self._pool: Any = None

    def __enter__(self) -> RealEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure(self) -> None:
        # --executor ray means Ray even for one worker: the user asked for the cluster.
        pooled = self.workers > 1 or self.executor == "ray"
        if not pooled and self._local is None:
            self._local = _Runner(self.setup, self.local_device)
        if pooled and self._pool is None:
            from dreamlab.parallel import make_executor

            init: Callable[..., None] = _worker_init
            initargs: tuple[Any, ...] = (self.setup,)
            if self.executor == "ray":
                init, initargs = _worker_init_shipped, (self.setup, self._checkpoints())
            self._pool = make_executor(self.executor, self.workers, initializer=init,
                                       initargs=initargs, ray_address=self.ray_address)

    def _checkpoints(self) -> dict[str, bytes]:
        files = {"mdnrnn.pt": self.setup.mdnrnn_path}
        if self.setup.vae_path:
            files["vae.pt"] = self.setup.vae_path
        return {name: Path(path).read_bytes() for name, path in files.items()}

    def run(self, params: torch.Tensor | np.ndarray, seeds: list[int]) -> RealRollouts:
        """Returns and lengths of len(seeds) episodes, episode n with params[n]."""
        p = np.asarray(torch.as_tensor(params, dtype=torch.float32).cpu().numpy())
        n = p.shape[0]
        self._ensure()
        if self._pool is None:
            assert self._local is not None
            return self._local.run(p, list(seeds))
        parts = [list(range(w, n, self.workers)) for w in range(self.workers)]
        parts = [idx for idx in parts if idx]
        jobs = [(p[idx], [seeds[i] for i in idx]) for idx in parts]
        returns = np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        for idx, (ret, length) in zip(parts, self._pool.map(_worker_run, jobs), strict=True):
            returns[idx] = ret
            lengths[idx] = length
        return RealRollouts(returns, lengths)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._local is not None:
            self._local.close()
            self._local = None


def rollout_real(params: torch.Tensor, setup: PolicySetup, seeds: list[int],
                 workers: int = 1) -> np.ndarray:
    """Returns (N,) of N real episodes, episode n with params[n] and seed seeds[n]."""
    with RealEvaluator(setup, workers) as evaluator:
        return evaluator.run(params, seeds).returns


def real_fitness(params: torch.Tensor, setup: PolicySetup, seeds: list[int],
                 workers: int = 1) -> np.ndarray:
    """Mean real return per candidate: params (C, P), each run on every seed (common
    random numbers: candidates meet the same starts, so the ranking CMA-ES sees is not
    start-state luck). One-shot; a training loop keeps a RealEvaluator open instead."""
    c, r = params.shape[0], len(seeds)
    returns = rollout_real(params.repeat_interleave(r, 0), setup, list(seeds) * c, workers)
    return returns.reshape(c, r).mean(axis=1)


def default_workers(requested: int, env_info: Any) -> int:
    """Worker processes for real-env fitness. State envs step in microseconds and
    inter-process traffic dominates (notes: CartPole 84k steps/s in one process against
    8.9k over two), so they stay in-process. Pixel envs spend ~2-4 ms a step rendering,
    which other processes overlap: the parent only waits while they run. With CartPole
    frames drawn from the state (envs/cartpole.py), CMA-ES on the quiet 2-core box ran
    about 1.5x the env steps/s with 2 workers than in-process in a one-off comparison
    (seed 43, the same V and M; no benchmark JSON). With pygame's renderer at load ~6 one
    worker had won (notes), so a busy machine can pass --collect-workers 1."""
    if requested > 0:
        return requested
    if env_info.obs != "pixels":
        return 1
    return max(1, min(4, cpu_count()))
