#!/usr/bin/env bash
# Runs on a lent GPU machine (README "GPU runs"), as one call: installs the carried wheels
# (.whl: the package's pure-Python needs plus ale-py for Pong), measures Dreamer's CUDA
# paths (benchmarks/dreamer_gpu_check.py: fp32/TF32/bf16 updates/s per size, GPU memory
# after n and 3n updates, a real OOM through the fallback, the Pong run's projected time),
# then trains DreamerV3's Atari100k Pong setting (`--mode full`: size s, train ratio 1024)
# for at most $BUDGET_S seconds. Re-running it on the same machine resumes the run from
# its last checkpoint; what it reached comes back under $OUT.
set -u
BUDGET_S=${BUDGET_S:-300}
. "$(dirname "$0")/gpu_setup.sh"
if [ "${SKIP_CHECK:-0}" != 1 ]; then
    python3 benchmarks/dreamer_gpu_check.py ${CHECK_ARGS:-} \
        && cp benchmarks/results/dreamer_gpu_check.json "$OUT/"
fi
run=runs/dreamer_pong_gpu
timeout "$BUDGET_S" python3 -m dreamlab dreamer --env ALE/Pong-v5 --mode full --device cuda \
    --checkpoint-every 2000 --log-every 500 --checkpoint-dir "$run" 2>&1 | tail -40
echo "exit: ${PIPESTATUS[0]}"
for f in manifest.json evaluation_results.json logs/metrics.csv; do
    [ -f "$run/$f" ] && cp "$run/$f" "$OUT/dreamer_pong_gpu_$(basename "$f")"
done
ls -la "$run" | head -20
