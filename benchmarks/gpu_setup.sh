# Sourced by the gpu_*.sh scripts on a lent GPU machine: $OUT (what comes back), the
# carried wheels (.whl) installed beside the machine's own torch, and the import path.
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1 || echo "wheel install failed"
export PYTHONPATH=/tmp/site:src:benchmarks PYTHONUNBUFFERED=1
