"""Parallel work through one interface: in this process, in local processes, or (with
the Ray issue) on a cluster. Nothing here imports ray."""

from dreamlab.parallel.executor import Executor, cpu_count, make_executor

__all__ = ["Executor", "cpu_count", "make_executor"]
