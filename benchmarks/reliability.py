"""Crash and bad-input reliability of `dreamlab run`: kill -9 at random moments, then resume.

Usage: python benchmarks/reliability.py [--kills 24] [--seed 0] [--skip-kills] [--skip-bad]

1. Two uninterrupted runs of a tiny pixel CartPole pipeline (every stage, V included) give
   the reference results and each stage's time window (polled from manifest.json).
2. Trials on fresh run dirs: each is SIGKILLed one to three times (the whole process
   group, as `kill -9` of a job would), at a moment drawn uniformly inside the window of
   a stage picked in turn (so every stage is hit, not only the long ones), then the same
   command is run to completion. After each trial: the run completed; every artifact loads
   (vae.pt, mdnrnn.pt, controller_best.pt with torch.load(weights_only=True); raw_data/ and
   latents/ pass EpisodeStore.verify(); evaluation_results.json and manifest.json parse);
   and the results equal the uninterrupted run's, artifact by artifact.
3. Each bad-input case runs as a subprocess: it must exit 2 with one line on stderr and
   no traceback. A disk that fills mid-stage is checked apart (its stage has logged lines
   before the error, so "one line" means one error line, and a re-run must resume).

Prints `kills survived / tried` and `bad inputs with a clean error / tried`, and writes
benchmarks/results/reliability.json with per-kill details.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import save_result

STAGES = ("collect", "vae", "encode", "mdnrnn", "controller", "eval")

# Tiny pixel CartPole: every stage runs (V too), ~10 s of stages after ~8 s of imports.
# Two VAE epochs and three M epochs, so a kill mid-stage can resume from an epoch snapshot.
TINY_FLAGS = [
    "--env", "CartPole-v1", "--obs", "pixels", "--mode", "quick", "--vae-img-size", "32",
    "--z-dim", "8", "--vae-batch", "16", "--num-random-rollouts", "24",
    "--collect-workers", "1", "--vae-epochs", "2", "--mdnrnn-epochs", "3",
    "--mdnrnn-hidden", "16", "--mdnrnn-seq-len", "8", "--mdnrnn-batch", "4",
    "--cma-pop-size", "4", "--cma-generations", "4", "--rollouts-per-candidate", "2",
    "--eval-every", "1", "--eval-rollouts", "2", "--eval-episodes", "8",
    "--dream-max-steps", "30", "--max-episode-steps", "60", "--device", "cpu",
    "--num-threads", "1", "--seed", "42",
]

# Fields of evaluation_results.json that measure time, not behaviour.
TIMING_KEYS = ("seconds", "env_steps_per_s", "wall_s")

# Run `dreamlab.cli.main` with a patch applied first (a missing extra, a full disk): the
# benchmark cannot monkeypatch a subprocess any other way.
PATCHED_MAIN = """
import errno, os, sys
patch = sys.argv[1]
if patch == "no-extras":
    import dreamlab.envs.registry as registry
    registry.extra_installed = lambda extra: False
elif patch == "disk-full-vae":
    real_fsync = os.fsync
    def fsync(fd):
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            name = ""
        if "vae.pt" in os.path.basename(name):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)
    os.fsync = fsync
from dreamlab.cli import main
if __name__ == "__main__":
    raise SystemExit(main(sys.argv[2:]))
"""


def dreamlab_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dreamlab", *args]


def run_cmd(run_dir: Path) -> list[str]:
    return dreamlab_cmd("run", *TINY_FLAGS, "--checkpoint-dir", str(run_dir))


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def current_stage(run_dir: Path) -> str:
    """Which stage was running, read back from manifest.json (the run dir is the truth)."""
    manifest = read_manifest(run_dir)
    if manifest is None:
        return "startup"
    stages = manifest.get("stages", {})
    for name in STAGES:
        if stages.get(name, {}).get("status") in ("running", "failed"):
            return name
    finished = [n for n in STAGES if stages.get(n, {}).get("status") in ("done", "skipped")]
    if not finished:
        return "startup"
    if len(finished) == len(STAGES):
        return "finishing"
    return f"after {finished[-1]}"


# ---- the uninterrupted reference ---------------------------------------------------------


def reference_run(run_dir: Path, log_path: Path) -> dict[str, Any]:
    """Run to completion, polling the manifest to time each stage's window."""
    t0 = time.monotonic()
    starts: dict[str, float] = {}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(run_cmd(run_dir), stdout=log, stderr=subprocess.STDOUT,
                                env=child_env(), start_new_session=True)
        while proc.poll() is None:
            stage = current_stage(run_dir)
            if stage in STAGES and stage not in starts:
                starts[stage] = round(time.monotonic() - t0, 2)
            time.sleep(0.05)
    duration = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"the uninterrupted run failed (exit {proc.returncode}); see {log_path}")
    manifest = read_manifest(run_dir) or {}
    windows: dict[str, tuple[float, float]] = {}
    for name in STAGES:
        lo = starts.get(name)
        if lo is None:  # started and finished between two polls: use its recorded seconds
            prev = [windows[n][1] for n in STAGES[: STAGES.index(name)] if n in windows]
            lo = prev[-1] if prev else 0.0
        hi = lo + float(manifest.get("stages", {}).get(name, {}).get("seconds", 0.05))
        windows[name] = (lo, max(hi, lo + 0.05))
    first = windows["collect"][0]
    return {"duration_s": round(duration, 2), "startup_s": round(first, 2),
            "windows": {k: [round(a, 2), round(b, 2)] for k, (a, b) in windows.items()}}


# ---- artifacts and results ---------------------------------------------------------------


def _hash_tensors(obj: Any) -> str:
    """sha256 over the tensors of a checkpoint dict, by key (metadata left out)."""
    import torch

    h = hashlib.sha256()

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            h.update(prefix.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
        elif isinstance(value, dict):
            for k in sorted(value, key=str):
                walk(f"{prefix}/{k}", value[k])

    walk("", obj)
    return h.hexdigest()


def check_artifacts(run_dir: Path) -> tuple[list[str], dict[str, Any]]:
    """(problems, fingerprint of the results) for a finished run dir."""
    import torch

    from dreamlab.data import EpisodeStore

    problems: list[str] = []
    results: dict[str, Any] = {}
    for name in ("vae.pt", "mdnrnn.pt", "controller_best.pt"):
        try:
            ckpt = torch.load(run_dir / name, map_location="cpu", weights_only=True)
            results[name] = _hash_tensors(ckpt)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    for name in ("raw_data", "latents"):
        try:
            store = EpisodeStore(run_dir / name)
            store.verify()
            h = hashlib.sha256()
            for i in range(len(store)):
                for key, array in sorted(store.load(i).items()):
                    h.update(key.encode())
                    h.update(array.tobytes())
            results[name + "_sha256"] = h.hexdigest()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    try:
        ev = json.loads((run_dir / "evaluation_results.json").read_text(encoding="utf-8"))
        results["evaluation"] = {k: v for k, v in ev.items() if k not in TIMING_KEYS}
    except Exception as exc:  # noqa: BLE001
        problems.append(f"evaluation_results.json: {type(exc).__name__}: {exc}")
    manifest = read_manifest(run_dir)
    if manifest is None:
        problems.append("manifest.json does not parse")
    else:
        bad = [n for n in STAGES if manifest["stages"].get(n, {}).get("status") != "done"]
        if bad:
            problems.append(f"manifest: stages not done: {bad}")
    return problems, results


def compare(results: dict[str, Any], reference: dict[str, Any]) -> dict[str, bool]:
    """Artifact by artifact: does this run equal the uninterrupted one, bit for bit?"""
    keys = ("raw_data_sha256", "vae.pt", "latents_sha256", "mdnrnn.pt", "controller_best.pt",
            "evaluation")
    return {k: results.get(k) == reference.get(k) for k in keys}


def source_digest() -> str:
    """sha256 of the package source: other people edit it while this runs for minutes, and
    a run of other code is no reference for bit-identity."""
    import dreamlab

    h = hashlib.sha256()
    for path in sorted(Path(dreamlab.__file__).parent.rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def stray_temp_files(run_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob(".*.tmp*"))


# ---- kill trials -------------------------------------------------------------------------


def attempt(run_dir: Path, log_path: Path, aim: tuple[str, float] | None) -> dict[str, Any]:
    """One `dreamlab run`, SIGKILLed at `aim` (None: let it finish).

    aim = (stage, offset_s): offset_s seconds after manifest.json shows `stage` running;
    aim = ("any", t): t seconds after the start. Stage windows of the reference are too
    short (0.2 s) and start too unevenly under load for a clock alone to hit them.
    """
    t0 = time.monotonic()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(run_cmd(run_dir), stdout=log, stderr=subprocess.STDOUT,
                                env=child_env(), start_new_session=True)
        deadline = None if aim is None or aim[0] != "any" else t0 + aim[1]
        while proc.poll() is None:
            now = time.monotonic()
            if deadline is None and aim is not None and current_stage(run_dir) == aim[0]:
                deadline = now + aim[1]
            if deadline is not None and now >= deadline:
                stage = current_stage(run_dir)  # read just before the kill
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return {"killed": True, "aim": aim[0], "kill_at_s": round(now - t0, 2),
                        "stage": stage, "stage_after": current_stage(run_dir)}
            time.sleep(0.01)
    return {"killed": False, "returncode": proc.returncode,
            "seconds": round(time.monotonic() - t0, 2)}


def kill_trial(run_dir: Path, log_path: Path, aims: list[tuple[str, float]]
               ) -> dict[str, Any]:
    kills = []
    for aim in aims:
        out = attempt(run_dir, log_path, aim)
        if not out["killed"]:
            break  # finished before the kill moment: nothing left to interrupt
        kills.append(out)
    final = attempt(run_dir, log_path, None)
    return {"kills": kills, "final_returncode": final["returncode"],
            "final_seconds": final["seconds"]}


def plan_trial(i: int, windows: dict[str, list[float]], duration_s: float,
               rng: random.Random) -> list[tuple[str, float]]:
    """1-3 kills. The first aims at stage i mod 6, at a moment uniform over that stage's
    duration in the reference run; later ones are uniform over the whole reference duration
    (a resumed run is shorter, so some land after it finished and are not counted)."""
    stage = STAGES[i % len(STAGES)]
    lo, hi = windows[stage]
    kills = [(stage, rng.uniform(0.0, hi - lo))]
    for _ in range(rng.choice((0, 0, 1, 2))):
        kills.append(("any", rng.uniform(0.5, duration_s)))
    return kills


def run_kills(root: Path, n_kills: int, seed: int) -> dict[str, Any]:
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print("reference run 1 (uninterrupted) ...", flush=True)
    ref = reference_run(root / "reference", logs / "reference.log")
    problems, reference = check_artifacts(root / "reference")
    if problems:
        raise SystemExit(f"the uninterrupted run's artifacts are bad: {problems}")
    print(f"  {ref['duration_s']} s; stage windows {ref['windows']}", flush=True)
    print("reference run 2 (uninterrupted, same seed) ...", flush=True)
    reference_run(root / "reference2", logs / "reference2.log")
    _, reference2 = check_artifacts(root / "reference2")
    baseline_equal = compare(reference2, reference)
    print(f"  uninterrupted runs equal: {baseline_equal}", flush=True)

    rng = random.Random(seed)
    digest = source_digest()
    references_made = 2
    kill_rows: list[dict[str, Any]] = []
    survived = tried = t = 0
    while tried < n_kills and t < 4 * n_kills:  # until that many kills really happened
        plan = plan_trial(t, ref["windows"], ref["duration_s"], rng)
        run_dir = root / f"trial_{t:02d}"
        if source_digest() != digest:  # the code changed since the reference: remake it
            print("  source changed; new uninterrupted reference ...", flush=True)
            shutil.rmtree(root / "reference", ignore_errors=True)
            reference_run(root / "reference", logs / f"reference_{t:02d}.log")
            _, reference = check_artifacts(root / "reference")
            digest = source_digest()
            references_made += 1
        out = kill_trial(run_dir, logs / f"trial_{t:02d}.log", plan)
        code_changed = source_digest() != digest  # mid-trial: identity is not comparable
        problems, results = check_artifacts(run_dir) if out["final_returncode"] == 0 \
            else ([f"final run exited {out['final_returncode']}"], {})
        equal = compare(results, reference) if results else {}
        strays = stray_temp_files(run_dir)
        ok = out["final_returncode"] == 0 and not problems
        for k, kill in enumerate(out["kills"]):
            tried += 1
            survived += ok
            row = {"trial": t, "kill_in_trial": k + 1, "kills_in_trial": len(out["kills"]),
                   **kill, "completed": out["final_returncode"] == 0,
                   "artifacts_ok": not problems, "problems": problems,
                   "bit_identical": all(equal.values()) if equal else False,
                   "equal": equal, "stray_temp_files": strays,
                   "source": digest, "source_changed_during_trial": code_changed}
            kill_rows.append(row)
        where = ", ".join(f"{k['stage']}@{k['kill_at_s']}s" for k in out["kills"]) or "none"
        print(f"trial {t:2d}: kills [{where}] -> "
              f"{'ok' if ok else 'FAILED ' + '; '.join(problems)}; identical: "
              f"{all(equal.values()) if equal else False}"
              + (f" (differs: {[k for k, v in equal.items() if not v]})"
                 if equal and not all(equal.values()) else ""), flush=True)
        if ok:
            shutil.rmtree(run_dir, ignore_errors=True)  # keep a failed dir to look at
        t += 1
    per_stage: dict[str, dict[str, int]] = {}
    for row in kill_rows:
        s = per_stage.setdefault(row["stage"], {"tried": 0, "survived": 0, "identical": 0})
        s["tried"] += 1
        s["survived"] += row["completed"] and row["artifacts_ok"]
        s["identical"] += row["bit_identical"]
    return {
        "config_flags": TINY_FLAGS, "reference": ref, "uninterrupted_runs_equal": baseline_equal,
        "kills_tried": tried, "kills_survived": survived,
        "kills_bit_identical": sum(r["bit_identical"] for r in kill_rows),
        "kills_with_source_changed_mid_trial": sum(r["source_changed_during_trial"]
                                                   for r in kill_rows),
        "uninterrupted_references_made": references_made,
        "per_stage": per_stage, "kills": kill_rows,
    }


# ---- bad input ---------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _foreign(path: Path) -> None:
    import torch

    torch.save({"weights": torch.zeros(3), "note": "not a dreamlab file"}, path)


def bad_input_cases(ref_dir: Path, tmp: Path) -> list[dict[str, Any]]:
    """(name, argv, setup of a copy of the reference run dir, expected fragment)."""
    yaml_dir = tmp / "yaml"
    yaml_dir.mkdir(parents=True, exist_ok=True)
    (yaml_dir / "unknown.yaml").write_text("env: CartPole-v1\nvae_epoch: 3\n")
    (yaml_dir / "wrong_type.yaml").write_text("vae_epochs: three\n")
    (yaml_dir / "malformed.yaml").write_text("vae_epochs: [1, 2\n")

    def resume(*extra: str) -> Callable[[Path], list[str]]:
        return lambda run: ["run", "--resume", str(run), *extra]

    def flags(*extra: str) -> Callable[[Path], list[str]]:
        return lambda run: ["run", *extra, "--checkpoint-dir", str(run)]

    ce = ("--stage", "controller,eval")
    return [
        dict(name="unknown env id", argv=flags("--env", "CartPol-v1"), frag="CartPole-v1"),
        dict(name="missing box2d extra", argv=flags("--env", "LunarLander-v3"),
             patch="no-extras", frag="box2d"),
        dict(name="missing atari extra", argv=flags("--env", "ALE/Pong-v5"),
             patch="no-extras", frag="atari"),
        dict(name="out-of-range --vae-img-size", argv=flags("--vae-img-size", "48"),
             frag="32 or 64"),
        dict(name="out-of-range --temperature", argv=flags("--temperature", "-1"),
             frag="> 0"),
        dict(name="out-of-range --cma-pop-size", argv=flags("--cma-pop-size", "1"),
             frag=">= 2"),
        dict(name="malformed --vae-epochs", argv=flags("--vae-epochs", "many"),
             frag="invalid int"),
        dict(name="malformed --amp", argv=flags("--amp", "maybe"), frag="true or false"),
        dict(name="unknown --stage", argv=flags("--stage", "train"), frag="unknown stage"),
        dict(name="unknown --mode", argv=flags("--mode", "fast"), frag="--mode"),
        dict(name="--resume of a dir that is not a run", argv=lambda run: [
            "run", "--resume", str(tmp / "no_such_run")], frag="no such run directory"),
        dict(name="missing mdnrnn.pt", argv=resume(*ce), copy=True,
             setup=lambda run: (run / "mdnrnn.pt").unlink(), frag="mdnrnn.pt is missing"),
        dict(name="truncated mdnrnn.pt", argv=resume(*ce), copy=True,
             setup=lambda run: _truncate(run / "mdnrnn.pt"), frag="truncated"),
        dict(name="corrupt vae.pt", argv=resume(*ce), copy=True,
             setup=lambda run: _flip_bytes(run / "vae.pt"), frag="checksum"),
        dict(name="foreign vae.pt", argv=resume(*ce), copy=True,
             setup=lambda run: _foreign(run / "vae.pt"), frag="vae.pt"),
        dict(name="truncated manifest.json", argv=resume(*ce), copy=True,
             setup=lambda run: _truncate(run / "manifest.json"), frag="manifest.json"),
        dict(name="run dir of another env", argv=resume("--env", "Acrobot-v1"), copy=True,
             frag="env="),
        dict(name="run dir of another image size", argv=resume("--vae-img-size", "64"),
             copy=True, frag="vae_img_size="),
        dict(name="YAML with an unknown key", argv=lambda run: [
            "run", "--config", str(yaml_dir / "unknown.yaml")], frag="vae_epochs"),
        dict(name="YAML with a wrong type", argv=lambda run: [
            "run", "--config", str(yaml_dir / "wrong_type.yaml")], frag="must be int"),
        dict(name="YAML that does not parse", argv=lambda run: [
            "run", "--config", str(yaml_dir / "malformed.yaml")], frag="not valid YAML"),
    ]


def run_case(case: dict[str, Any], ref_dir: Path, tmp: Path, i: int) -> dict[str, Any]:
    run = tmp / f"case_{i:02d}"
    if case.get("copy"):
        shutil.copytree(ref_dir, run)
    if case.get("setup"):
        case["setup"](run)
    argv = case["argv"](run)
    if case.get("patch"):
        cmd = [sys.executable, "-c", PATCHED_MAIN, case["patch"], *argv]
    else:
        cmd = dreamlab_cmd(*argv)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    clean = (proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr
             and case["frag"] in proc.stderr)
    shutil.rmtree(run, ignore_errors=True)
    return {"case": case["name"], "returncode": proc.returncode, "stderr_lines": len(lines),
            "stderr": proc.stderr.strip()[-600:], "clean": clean}


def run_disk_full(ref_dir: Path, tmp: Path) -> dict[str, Any]:
    """ENOSPC while the vae stage writes vae.pt: one error line, earlier artifacts intact,
    and once space is back the same command resumes and finishes."""
    from dreamlab.data import EpisodeStore

    run = tmp / "disk_full"
    shutil.copytree(ref_dir, run)
    argv = ["run", "--resume", str(run), "--vae-epochs", "3"]  # V must train again
    proc = subprocess.run([sys.executable, "-c", PATCHED_MAIN, "disk-full-vae", *argv],
                          capture_output=True, text=True, env=child_env(), timeout=300)
    errors = [ln for ln in proc.stderr.splitlines() if "error" in ln.lower()]
    EpisodeStore(run / "raw_data").verify()
    intact = (run / "vae.pt").read_bytes() == (ref_dir / "vae.pt").read_bytes()
    again = subprocess.run(dreamlab_cmd(*argv), capture_output=True, text=True,
                           env=child_env(), timeout=600)
    manifest = read_manifest(run) or {}
    out = {
        "returncode": proc.returncode, "error_lines": errors,
        "traceback": "Traceback" in proc.stderr,
        "earlier_artifacts_intact": intact,
        "resumed_returncode": again.returncode,
        "resumed_vae_epochs": manifest.get("stages", {}).get("vae", {}).get("metrics", {})
        .get("epochs"),
    }
    out["clean"] = (proc.returncode == 2 and len(errors) == 1 and not out["traceback"]
                    and "disk full" in errors[0] and intact and again.returncode == 0)
    shutil.rmtree(run, ignore_errors=True)
    return out


def run_bad_inputs(ref_dir: Path, tmp: Path) -> dict[str, Any]:
    rows = []
    for i, case in enumerate(bad_input_cases(ref_dir, tmp)):
        row = run_case(case, ref_dir, tmp, i)
        rows.append(row)
        last = row["stderr"].splitlines()[-1] if row["stderr"] else ""
        print(f"  {'ok  ' if row['clean'] else 'FAIL'} {row['case']}: {last}", flush=True)
    disk = run_disk_full(ref_dir, tmp)
    print(f"  {'ok  ' if disk['clean'] else 'FAIL'} disk full mid-stage: "
          f"{disk['error_lines']}", flush=True)
    return {"bad_inputs_tried": len(rows), "bad_inputs_clean": sum(r["clean"] for r in rows),
            "bad_inputs": rows, "disk_full": disk}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=24, help="SIGKILLs to make")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument("--skip-kills", action="store_true", help="only the bad inputs")
    parser.add_argument("--skip-bad", action="store_true", help="only the kills")
    parser.add_argument("--keep", action="store_true", help="keep the run dirs")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dreamlab_reliability_"))
    payload: dict[str, Any] = {}
    try:
        if args.skip_kills:
            print("reference run (uninterrupted) ...", flush=True)
            payload["reference"] = reference_run(root / "reference", root / "reference.log")
        else:
            payload.update(run_kills(root, args.kills, args.seed))
        if not args.skip_bad:
            print("bad inputs ...", flush=True)
            payload.update(run_bad_inputs(root / "reference", root / "bad"))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if "kills_tried" in payload:
        print(f"kills survived / tried: {payload['kills_survived']} / {payload['kills_tried']}"
              f" (bit-identical to the uninterrupted run: {payload['kills_bit_identical']})")
    if "bad_inputs_tried" in payload:
        print(f"bad inputs with a clean error / tried: {payload['bad_inputs_clean']} / "
              f"{payload['bad_inputs_tried']}")
        print(f"disk full mid-stage handled cleanly: {payload['disk_full']['clean']}")
    # The scratch dir's absolute path means nothing on another machine: record it as <tmp>.
    payload = json.loads(json.dumps(payload).replace(str(root), "<tmp>"))
    path = save_result("reliability", payload)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
