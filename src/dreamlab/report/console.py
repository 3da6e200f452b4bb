"""What the CLI prints: the resolved config, the end-of-run summary, envs, doctor."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from rich.table import Table

from dreamlab.runtime.console import get_console, table_box


def print_config(cfg: Any, title: str) -> None:
    """Every default is printed at start (DESIGN.md principle 1)."""
    table = Table(title=title, box=table_box(), show_header=False, pad_edge=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    table.add_column("key", style="bold")
    table.add_column("value")
    items = list(cfg.to_dict().items())
    half = (len(items) + 1) // 2
    for left, right in zip(items[:half], items[half:] + [("", "")], strict=False):
        table.add_row(left[0], str(left[1]), right[0], str(right[1]))
    get_console().print(table)


def print_envs() -> None:
    from dreamlab.envs import available_envs

    table = Table(title="environments", box=table_box())
    for col in ("env", "family", "obs", "available", "install"):
        table.add_column(col)
    for row in available_envs():
        extra = row.get("extra")
        hint = "" if row["available"] else f"pip install 'dreamlab[{extra}]'"
        table.add_row(row["env_id"], row["family"], str(row.get("obs_default", "")),
                      "yes" if row["available"] else "no", hint)
    get_console().print(table)


def print_doctor(path: str | Path = ".") -> None:
    import torch

    from dreamlab.data import human_bytes

    table = Table(title="dreamlab doctor", box=table_box(), show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    cuda = torch.cuda.is_available()
    table.add_row("torch", torch.__version__)
    table.add_row("CUDA", torch.cuda.get_device_name(0) if cuda else "not available")
    table.add_row("AMP", ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda
                  else "off on CPU")
    tf32 = cuda and torch.cuda.get_device_capability(0)[0] >= 8
    table.add_row("TF32", "supported" if tf32 else "not supported")
    if cuda:
        free, total = torch.cuda.mem_get_info()
        table.add_row("GPU memory", f"{human_bytes(free)} free of {human_bytes(total)}")
    from dreamlab.runtime.cpus import cpu_count

    table.add_row("CPUs", f"{cpu_count()} usable of {os.cpu_count()}")
    disk = shutil.disk_usage(Path(path).resolve())
    table.add_row("free disk", f"{human_bytes(disk.free)} of {human_bytes(disk.total)} "
                  f"(at {Path(path).resolve().name or '/'})")
    try:
        import psutil

        table.add_row("RAM", f"{human_bytes(psutil.virtual_memory().available)} available")
    except ImportError:
        pass
    get_console().print(table)


def print_train_result(result: Any) -> None:
    """The end of any training command: its phases (if any), its evaluation, its files."""
    from dreamlab.runtime.rundir import RunLayout

    console = get_console()
    layout = RunLayout(Path(result.run_dir))
    if result.rows:
        table = Table(title="pipeline summary", box=table_box())
        for col in ("stage", "status", "seconds", "outputs"):
            table.add_column(col)
        for row in result.rows:
            table.add_row(str(row["stage"]), str(row["status"]), f"{row['seconds']:.1f}",
                          str(row.get("outputs", "")))
        console.print(table)
    if result.stop_reason:
        console.print(f"stopped: {result.stop_reason}")
    if layout.evaluation.exists():
        print_evaluation(layout.root, None)
    videos = sorted(layout.videos.glob("*.mp4")) if layout.videos.exists() else []
    if videos:
        console.print(f"videos:  {layout.videos} ({len(videos)} mp4)")
    if layout.plots.exists():
        console.print(f"plots:   {layout.plots}")
    console.print(f"logs:    tensorboard --logdir {layout.logs}")


def print_evaluation(run_dir: str | Path, result: Any) -> None:
    """One line of return, read from evaluation_results.json when no result is given."""
    from dreamlab.runtime.results import EvalResult

    path = Path(run_dir) / "evaluation_results.json"
    res = result if result is not None else EvalResult.read(path)
    line = (f"return {res.mean_return:.1f} +- {res.std_return:.1f} over {res.episodes} "
            "episodes")
    dream = res.extra.get("dream_mean_return")
    if dream is not None:
        line += f" (dream {dream:.1f})"
    console = get_console()
    console.print(line)
    for name, o in (res.extra.get("opponents") or {}).items():  # Rocket League games
        console.print(f"vs {name}: W/D/L {o['wins']}/{o['draws']}/{o['losses']} "
                      f"(win rate {o['win_rate']:.0%}), goals {o['goals_for']}-"
                      f"{o['goals_against']}{_own_goals(o)}, "
                      f"{o['touches_per_minute']:.1f} touches/min")
    for video in res.extra.get("videos") or []:
        console.print(f"video:   {video['path']} ({video['frames']} frames)")
    console.print(f"results: {path}")


def _own_goals(o: dict[str, Any]) -> str:
    """' (own goals: 12 against, 1 for)' when the games had any; older results have no
    own-goal counts and print nothing."""
    against, for_ = o.get("own_goals_against", 0), o.get("own_goals_for", 0)
    return f" (own goals: {against} against, {for_} for)" if against or for_ else ""
