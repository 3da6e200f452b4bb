"""CMA-ES ask/tell (pycma) with its own random stream and an exact, pickle-free resume.

The paper trains C with CMA-ES (Ha & Schmidhuber 2018, section 2.3 and 4.3: population 64,
each candidate scored by its mean return over several rollouts). pycma does the
optimisation; this module adds two things a resumable stage needs.

1. **An isolated random stream.** pycma samples with the *global* numpy RNG. Anything else
   that touches np.random between ask() and tell() (an env, a library) would change the
   next population. Every pycma call here runs with the global RNG swapped to a private
   state, so the CMA-ES stream depends only on the seed and the fitness values told.

2. **Resume by replay.** pycma's state is spread over many objects (mean, sigma, the
   sampler's C/B/D and its lazy-update counters, the sigma adaptation's path ps, pc,
   sigma_vec, best-so-far, iteration and evaluation counters), and restoring a subset of
   them continues *approximately*. Instead the state file keeps what was told: the fitness
   matrix (generations x popsize, float64) plus a few check values, as tensors and ints
   loaded with weights_only=True (no pickle, DESIGN.md). Resuming builds a fresh
   CMAEvolutionStrategy with the same seed and replays ask/tell with the stored fitness;
   since ask() is deterministic given the RNG and the tells, this rebuilds the state bit for
   bit on the same machine and pycma version, and the next generation equals the one an
   uninterrupted run would have asked. Replay costs only pycma's own arithmetic (no
   rollouts): well under a second for hundreds of generations at a few hundred dims.
   Should the replayed mean disagree with the saved one (another pycma or BLAS), the
   saved mean and sigma are put back and a warning says the run continues approximately.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

log = logging.getLogger("dreamlab")

STATE_FORMAT = "dreamlab.cma_state/1"


class CMAES:
    """Minimises with pycma's CMAEvolutionStrategy from x0 = 0 (the paper's start)."""

    def __init__(self, dim: int, sigma0: float, popsize: int, seed: int) -> None:
        import cma

        self.dim = int(dim)
        self.sigma0 = float(sigma0)
        self.popsize = int(popsize)
        # pycma treats seed 0 as "seed from the clock"; keep it in [1, 2**31 - 1).
        self.seed = int(seed) % (2**31 - 2) + 1
        self.history: list[np.ndarray] = []  # fitness told per generation (minimised)
        outer = np.random.get_state()
        try:
            opts = {"popsize": self.popsize, "seed": self.seed, "verbose": -9,
                    "verb_log": 0, "verb_disp": 0}
            if self.dim == 1:  # pycma refuses 1-D problems without this flag
                opts["CMA_on"] = True
            self.es = cma.CMAEvolutionStrategy(np.zeros(self.dim), self.sigma0, opts)
            self._rng = np.random.get_state()
        finally:
            np.random.set_state(outer)
        self._pending: list[np.ndarray] | None = None

    @contextlib.contextmanager
    def _own_rng(self) -> Iterator[None]:
        outer = np.random.get_state()
        np.random.set_state(self._rng)
        try:
            yield
        finally:
            self._rng = np.random.get_state()
            np.random.set_state(outer)

    @property
    def generation(self) -> int:
        return len(self.history)

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.es.mean, dtype=np.float64)

    @property
    def sigma(self) -> float:
        return float(self.es.sigma)

    def ask(self) -> np.ndarray:
        """The next population, (popsize, dim) float64. Asking twice without a tell
        returns the same population (so a crash between ask and tell changes nothing)."""
        if self._pending is None:
            with self._own_rng():
                self._pending = self.es.ask()
        return np.stack(self._pending)

    def tell(self, fitness: np.ndarray) -> None:
        """Report the fitness (lower is better) of the population from ask()."""
        if self._pending is None:
            raise RuntimeError("tell() without ask()")
        f = np.asarray(fitness, dtype=np.float64).reshape(-1)
        if f.shape[0] != self.popsize:
            raise ValueError(f"{f.shape[0]} fitness values for a population of {self.popsize}")
        with self._own_rng():
            self.es.tell(self._pending, f.tolist())
        self._pending = None
        self.history.append(f)

    # --- state ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain values only (loads with torch.load(weights_only=True))."""
        fit = np.stack(self.history) if self.history else np.zeros((0, self.popsize))
        return {
            "format": STATE_FORMAT,
            "dim": self.dim,
            "sigma0": self.sigma0,
            "popsize": self.popsize,
            "seed": self.seed,
            "fitness": torch.from_numpy(fit.astype(np.float64)),
            "mean": torch.from_numpy(self.mean.copy()),
            "sigma": self.sigma,
            "countiter": int(self.es.countiter),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CMAES:
        """Rebuild by replaying the stored fitness through a freshly seeded pycma."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError("not a dreamlab CMA-ES state")
        # the stored seed s is already mapped; s - 1 maps back onto s
        es = cls(state["dim"], state["sigma0"], state["popsize"], int(state["seed"]) - 1)
        for f in state["fitness"].numpy():
            es.ask()
            es.tell(f)
        saved_mean = state["mean"].numpy()
        if not np.allclose(es.mean, saved_mean, rtol=1e-9, atol=1e-12) or not np.isclose(
            es.sigma, float(state["sigma"]), rtol=1e-9
        ):
            log.warning(
                "replayed CMA-ES state differs from the saved one (another pycma or BLAS?); "
                "continuing from the saved mean and sigma, so this run is not bit-identical "
                "to an uninterrupted one"
            )
            es.es.mean = saved_mean.copy()
            es.es.sigma = float(state["sigma"])
        return es

    def compatible(self, state: dict[str, Any]) -> bool:
        return (state.get("format") == STATE_FORMAT and int(state["dim"]) == self.dim
                and int(state["popsize"]) == self.popsize
                and float(state["sigma0"]) == self.sigma0 and int(state["seed"]) == self.seed)
