"""The Ray executor: same answers as local processes, faults survived, clear errors, and
no trace of ray in runs that did not ask for it.

Tests that need Ray skip when it is not installed. They share one local Ray of 2 CPUs
(started once for the module, shut down at its end): the machine is small and Ray's
start costs seconds. Tests that must see Ray not running come first in the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dreamlab.errors import ConfigError
from dreamlab.parallel import make_executor

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # spawned workers inherit sys.path
import _jobs  # noqa: E402

NO_RAY_SCRIPT = """
import sys
from dreamlab.cli import build_parser, main
from dreamlab.parallel import make_executor
try:
    main(["--help"])
except SystemExit:
    pass
make_executor("inline").close()
make_executor("local", 2, initializer=print, initargs=("",)).close()
assert "ray" not in sys.modules, "ray was imported"
print("no ray")
"""


def test_runs_that_do_not_ask_for_ray_never_import_it() -> None:
    out = subprocess.run([sys.executable, "-c", NO_RAY_SCRIPT], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "no ray" in out.stdout


def test_missing_ray_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    monkeypatch.delitem(sys.modules, "dreamlab.parallel.ray_backend", raising=False)
    with pytest.raises(ConfigError, match=r"needs Ray.*dreamlab\[ray\]"):
        make_executor("ray", 2)


def test_ray_address_without_ray_executor_is_one_line() -> None:
    from dreamlab.config import WorldModelConfig

    with pytest.raises(ConfigError, match="--ray-address needs --executor ray"):
        WorldModelConfig(ray_address="auto")
    assert WorldModelConfig(executor="ray", ray_address="auto").ray_address == "auto"


@pytest.fixture(scope="module")
def ray_backend() -> object:
    pytest.importorskip("ray")
    from dreamlab.parallel import ray_backend

    return ray_backend


def test_unreachable_cluster_is_one_line(ray_backend: object) -> None:
    import ray

    assert not ray.is_initialized()
    with pytest.raises(ray_backend.RayClusterError, match="cannot reach the Ray cluster"):
        make_executor("ray", 2, ray_address="127.0.0.1:1")  # nothing listens on port 1
    with pytest.raises(ConfigError, match="auto or HOST:PORT"):
        make_executor("ray", 2, ray_address="head-node")


def test_worker_with_other_dreamlab_is_one_line_and_local_ray_is_shut_down(
        ray_backend: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    # The driver believes it is another build; the actors compute the real fingerprint.
    monkeypatch.setattr(ray_backend, "package_fingerprint", lambda: "0.0.0+driver")
    with pytest.raises(ray_backend.RayClusterError, match=r"runs dreamlab .*0\.0\.0\+driver"):
        make_executor("ray", 1, initializer=_jobs.init, initargs=(0,))
    assert not ray.is_initialized()  # the executor started this Ray, so it stopped it


@pytest.fixture(scope="module")
def local_ray(ray_backend: object) -> Iterator[None]:
    """One local Ray of 2 CPUs for the tests below; its workers import the job modules."""
    import ray

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 object_store_memory=ray_backend.LOCAL_OBJECT_STORE_BYTES)
    yield
    ray.shutdown()


def test_ray_gives_the_answers_of_inline_in_job_order(local_ray: None) -> None:
    seeds = list(range(10, 22))
    with make_executor("inline", initializer=_jobs.init, initargs=(5,)) as inline:
        expected = [r[:2] for r in inline.map(_jobs.seeded_job, seeds)]
    # 3 asked of a 2-CPU Ray: capped to 2, since a third actor would wait for ever.
    with make_executor("ray", 3, initializer=_jobs.init, initargs=(5,)) as pool:
        assert pool.workers == 2
        mapped = pool.map(_jobs.seeded_job, seeds)
        streamed = list(pool.imap(_jobs.seeded_job, seeds))
        unordered = list(pool.imap_unordered(_jobs.seeded_job, seeds))
    assert [r[:2] for r in mapped] == expected
    assert [r[:2] for r in streamed] == expected
    assert sorted(r[:2] for r in unordered) == sorted(expected)
    pids = {r[2] for r in mapped}
    assert os.getpid() not in pids and len(pids) == 2  # both actors ran jobs


def test_a_worker_killed_mid_generation_is_restarted_with_the_same_results(
        local_ray: None, tmp_path: Path) -> None:
    import _ray_jobs

    seeds = list(range(30, 38))
    marker = str(tmp_path / "killed")
    with make_executor("ray", 2, initializer=_jobs.init, initargs=(7,)) as pool:
        got = pool.map(_ray_jobs.die_once, [(s, marker) for s in seeds])
    assert Path(marker).exists()  # a worker really died
    # The restarted actor ran the initializer again (offset 7 is in every result).
    with make_executor("inline", initializer=_jobs.init, initargs=(7,)) as inline:
        assert [r[:2] for r in got] == [r[:2] for r in inline.map(_jobs.seeded_job, seeds)]


def test_a_worker_that_keeps_dying_is_one_line(local_ray: None, ray_backend: object) -> None:
    with make_executor("ray", 1) as pool, \
            pytest.raises(ray_backend.RayClusterError, match="restarts allow"):
        pool.map(_jobs.die, [1])


def test_cma_es_on_ray_matches_local_processes(local_ray: None, tmp_path: Path) -> None:
    """Issue 14's "same results": CartPole from state, the same seed, two CMA-ES
    generations of real-env fitness: the same fitness, controller and returns."""
    import torch

    from dreamlab.envs import env_info
    from dreamlab.models.controller import ControllerSpec
    from dreamlab.models.mdnrnn import MDNRNN
    from dreamlab.runtime.atomic import atomic_torch_save
    from dreamlab.worldmodels.agent import PolicySetup, RealEvaluator
    from dreamlab.worldmodels.cmaes import CMAES

    torch.manual_seed(0)
    atomic_torch_save(tmp_path / "mdnrnn.pt", MDNRNN(4, 2, 4, 2).to_checkpoint())
    spec = ControllerSpec(4 + 4, "discrete", 2)
    setup = PolicySetup(env_info("CartPole-v1", obs="state"), spec,
                        str(tmp_path / "mdnrnn.pt"), None, envs_per_worker=4)

    def train(executor: str) -> tuple[list[np.ndarray], np.ndarray]:
        """Per generation the (candidates, rollouts) returns; and C at the end."""
        es = CMAES(spec.num_params, 0.5, 6, seed=3)
        returns = []
        with RealEvaluator(setup, 2, executor=executor) as real:
            for gen in range(2):
                params = torch.as_tensor(es.ask(), dtype=torch.float32)
                seeds = [100 * gen + j for j in range(2)]
                out = real.run(params.repeat_interleave(2, 0), seeds * 6)
                returns.append(out.returns.reshape(6, 2))
                es.tell(-returns[-1].mean(axis=1))  # fitness: mean return, negated
        return returns, es.mean

    local_returns, local_mean = train("local")
    ray_returns, ray_mean = train("ray")
    for a, b in zip(local_returns, ray_returns, strict=True):
        np.testing.assert_array_equal(a, b)  # every episode, hence every fitness
    np.testing.assert_array_equal(local_mean, ray_mean)  # the same controller
    assert np.concatenate(local_returns).std() > 0  # candidates and seeds really differ


TWO_NODE_DRIVER = """
import os, sys
import ray
from dreamlab.parallel import make_executor
with make_executor("ray", 0, ray_address=sys.argv[1]) as pool:
    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    print(pool.workers, len(nodes), pool.map(abs, [-1, -2, -3, -4]))
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # two Ray nodes: ~1 GB and 30-60 s on the 2-core box
def test_a_cluster_of_two_ray_nodes_on_this_machine(ray_backend: object,
                                                    tmp_path: Path) -> None:
    """docs/ray.md's recipe: `ray start --head`, `ray start --address=...` on another
    node (here the same machine, 1 CPU each), then the driver with --ray-address."""
    ray_cli = str(Path(sys.executable).parent / "ray")
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token"}  # token auth is Ray's default
    common = ["--num-cpus", "1", "--block", "--disable-usage-stats"]
    started = []
    try:
        started.append(subprocess.Popen(
            [ray_cli, "start", "--head", "--port", str(port), "--include-dashboard=false",
             *common], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = f"127.0.0.1:{port}"
        out = subprocess.run([sys.executable, "-c", "import ray; ray.init(address="
                              f"'{address}'); ray.shutdown()"], env=env, timeout=120)
        assert out.returncode == 0  # the head is up
        started.append(subprocess.Popen([ray_cli, "start", f"--address={address}", *common],
                                        env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
        for _ in range(60):  # the second node joins within seconds
            out = subprocess.run([sys.executable, "-c", TWO_NODE_DRIVER, address], env=env,
                                 capture_output=True, text=True, timeout=180)
            if out.stdout.startswith("2 2 "):
                break
        assert out.stdout.strip() == "2 2 [1, 2, 3, 4]", out.stderr[-2000:]
    finally:
        for proc in started:  # `ray start --block` stops its node on SIGTERM
            proc.terminate()
        for proc in started:
            proc.wait(timeout=60)
