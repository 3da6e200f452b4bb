"""Parallel work through one interface: in this process, in local processes, or on a Ray
cluster. Nothing here imports ray; `make_executor("ray", ...)` does, when asked."""

from dreamlab.parallel.executor import Executor, cpu_count, make_executor

__all__ = ["Executor", "cpu_count", "make_executor"]
