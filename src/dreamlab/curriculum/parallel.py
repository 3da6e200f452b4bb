"""`dreamlab curriculum --parallel-envs N`: up to N entries train at once (issue 14).

Entries are independent envs with run dirs of their own, so they can train side by side
through the one executor interface: local processes by default, Ray with `--executor ray`
(inline runs them one by one in this process, for tests). What stays in the driver is what
must have one writer: `curriculum_state.json`, the results and the report. A worker trains
one entry and returns an `EntryOutcome`; the driver records it exactly as the sequential
loop does, and redraws the results after each one, in the order entries finish.

Failures stay per entry. A user error is a failed outcome as in the sequential loop; a bug
in one entry is recorded as failed too (with its traceback in the log), because the other
entries are running and should finish. A lost worker (a process killed by the OOM killer,
a Ray node gone) ends the entries that had not finished; they are recorded as failed, and
re-running the same command resumes them from their run dirs, like any interrupted entry.

Across Ray nodes the workers write the run dirs themselves, so the curriculum dir must be
on a file system every node sees (NFS or similar); a worker that cannot see it says so in
one line instead of training into a directory the driver never reads.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from pathlib import Path

from dreamlab.curriculum.runner import (
    STATE_NAME,
    CurriculumOptions,
    CurriculumResult,
    CurriculumState,
    EntryJob,
    EntryOutcome,
    entry_is_due,
    record_outcome,
    train_entry,
    write_results,
)
from dreamlab.curriculum.spec import CurriculumSpec
from dreamlab.errors import ConfigError, DreamlabError
from dreamlab.parallel import make_executor

log = logging.getLogger("dreamlab")


@dataclass
class RemoteEntryJob:
    """An EntryJob plus the driver's working directory: a Ray worker starts elsewhere,
    and a relative curriculum dir must mean the same directory there."""

    job: EntryJob
    cwd: str
    driver_pid: int


def _tag_worker_logs(env_id: str, driver_pid: int) -> None:
    """In a worker process of our own, the entry's log lines go to its stderr tagged with
    the env (a spawned process starts with no handler, and N entries interleave); in the
    driver's process (inline) the CLI's logging is left alone."""
    logger = logging.getLogger("dreamlab")
    if os.getpid() == driver_pid or logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(f"%(asctime)s [{env_id}] %(message)s",
                                           datefmt="%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def train_entry_isolated(remote: RemoteEntryJob) -> EntryOutcome:
    """train_entry in a worker, where a bug in one entry must not end the others."""
    job = remote.job
    _tag_worker_logs(job.entry.env_id, remote.driver_pid)
    try:
        # Only in a worker process of ours, where nothing else runs: inline, this is the
        # driver (and a test session), whose working directory is not ours to move.
        if os.getpid() != remote.driver_pid and Path.cwd() != Path(remote.cwd):
            os.chdir(remote.cwd)
        if not (job.out_dir / STATE_NAME).exists():
            raise ConfigError(f"the curriculum dir {job.out_dir} is not visible on this "
                              "worker's node",
                              "put it on a file system every Ray node mounts (docs/ray.md)")
        return train_entry(job)
    except DreamlabError as exc:
        return EntryOutcome(job.entry.env_id, failed=exc.message + (
            f" ({exc.hint})" if exc.hint else ""))
    except Exception as exc:  # noqa: BLE001 - recorded per entry; the others run on
        # The traceback travels back with the outcome: a Ray worker's own log is not
        # shown on the driver's console.
        return EntryOutcome(job.entry.env_id,
                            failed=f"{type(exc).__name__}: {exc} (a bug; the traceback is "
                                   "in the log)",
                            detail="a bug, not a user error:\n" + traceback.format_exc())


def run_entries_in_parallel(spec: CurriculumSpec, out_dir: Path, options: CurriculumOptions,
                            state: CurriculumState, parallel_envs: int, executor: str,
                            ray_address: str | None) -> CurriculumResult:
    """Train the due entries of `spec`, at most `parallel_envs` at once."""
    t0 = time.monotonic()
    n = len(spec.entries)
    labels = {e.env_id: f"[{i}/{n}] {e.env_id}" for i, e in enumerate(spec.entries, 1)}
    # Finished and unavailable entries are settled first, in order, one line each.
    due = [e for e in spec.entries if entry_is_due(e, labels[e.env_id], out_dir, state)]
    result = write_results(spec, out_dir, state, options, time.monotonic() - t0, plot_envs=[])
    if not due:
        return result
    for entry in due:
        state.mark(entry.env_id, "running")
    by_env = {e.env_id: e for e in due}
    jobs = [RemoteEntryJob(EntryJob(e, labels[e.env_id], out_dir, options), os.getcwd(),
                           os.getpid()) for e in due]
    workers = min(parallel_envs, len(due))
    log.info("curriculum %s: %d envs to train, %d at a time (%s executor)", spec.name,
             len(due), workers, executor)
    unfinished = set(by_env)
    with make_executor(executor, workers, ray_address=ray_address) as pool:
        outcomes = pool.imap_unordered(train_entry_isolated, jobs)
        while unfinished:
            try:
                outcome = next(outcomes)
            except StopIteration:
                break
            except (BrokenExecutor, DreamlabError) as exc:  # a lost process or Ray worker
                result = _fail_unfinished(spec, out_dir, options, state, unfinished, labels,
                                          exc, time.monotonic() - t0)
                break
            entry = by_env[outcome.env_id]
            if outcome.detail:
                log.error("%s: %s", labels[entry.env_id], outcome.detail)
            record_outcome(outcome, entry, labels[entry.env_id], out_dir, options, state)
            unfinished.discard(entry.env_id)
            result = write_results(spec, out_dir, state, options, time.monotonic() - t0,
                                   plot_envs=[entry.env_id])
    return result


def _fail_unfinished(spec: CurriculumSpec, out_dir: Path, options: CurriculumOptions,
                     state: CurriculumState, unfinished: set[str], labels: dict[str, str],
                     exc: BaseException, wall_time_s: float) -> CurriculumResult:
    """Mark the entries a lost worker took with it as failed, resumable by a re-run."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    reason = (f"its worker was lost ({type(exc).__name__}: {first}); re-run the same "
              "command to resume it")
    lost = [e.env_id for e in spec.entries if e.env_id in unfinished]
    for env_id in lost:
        log.error("%s: failed: %s", labels[env_id], reason)
        state.mark(env_id, "failed", reason=reason)
    return write_results(spec, out_dir, state, options, wall_time_s, plot_envs=lost)
