#!/usr/bin/env bash
# Runs on a lent GPU machine (see README "GPU runs"): installs the carried wheels, checks
# the CUDA paths, then trains CarRacing with configs/experiments/carracing_gpu.yaml for at
# most $BUDGET_S seconds. Re-running it on the same machine resumes the run.
set -u
BUDGET_S=${BUDGET_S:-420}
. "$(dirname "$0")/gpu_setup.sh"
if [ "${SKIP_CHECK:-0}" != 1 ]; then
    python3 -m dreamlab doctor
    python3 benchmarks/gpu_check.py && cp benchmarks/results/gpu_check.json "$OUT/"
fi
run=runs/carracing_gpu
timeout "$BUDGET_S" python3 -m dreamlab run --config configs/experiments/carracing_gpu.yaml \
    --device cuda --checkpoint-dir "$run" 2>&1 | grep -vE "epoch [0-9]+/[0-9]+ [0-9]+/|CMA-ES\) " 
echo "exit: ${PIPESTATUS[0]}"
for f in manifest.json evaluation_results.json pipeline_summary.csv; do
    [ -f "$run/$f" ] && cp "$run/$f" "$OUT/carracing_gpu_$f"
done
[ -d "$run/plots" ] && tar czf "$OUT/carracing_gpu_plots.tgz" -C "$run" plots snapshots 2>/dev/null
ls -la "$run" | head -30
