#!/usr/bin/env bash
# The accelerator runs in one go, on a machine with a CUDA GPU and giantstep[gpu]:
#   1. the benchmark table (n = N = d in 4096..32768, float32 and float64, GEMM floor of the device),
#   2. C4's two-step ladder to N = 16384 on the GPU (giantstep sweep --device gpu),
#   3. C7's delta_NN curve and ladder sweeps to d = 4096 (kind 'phase', host cores of the same machine).
# Usage: benchmarks/gpu.sh [OUTDIR]        (default: gpu-results; every table and store goes there)
# Environment: SIZES (default 4096,8192,16384,32768), DTYPES (float32,float64), PYTHON (python3),
#              SKIP_CLAIMS=1 to run the table only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${1:-gpu-results}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
"$PY" -c "from giantstep.backend import require_gpu; print('visible GPUs:', require_gpu())"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>/dev/null || true

echo "== benchmark table"
"$PY" -m benchmarks.bench_gpu --sizes "${SIZES:-4096,8192,16384,32768}" --dtypes "${DTYPES:-float32,float64}" \
    --out "$OUT/table.md"

if [ "${SKIP_CLAIMS:-0}" != "1" ]; then
    "$PY" -m benchmarks.gpu_claims "$OUT/sweeps"
    echo "== C4 ladder to N = 16384 (GPU)"
    "$PY" -m giantstep sweep "$OUT/sweeps/c4_ladder.yaml" --store "$OUT/c4.sqlite" --device gpu --quiet
    "$PY" -m giantstep results "$OUT/c4.sqlite" --format csv --out "$OUT/c4_ladder.csv" --force
    echo "== C7 curve and ladder sweeps to d = 4096 (host cores)"
    for sweep in "$OUT"/sweeps/c7_*.yaml; do
        "$PY" -m giantstep sweep "$sweep" --store "$OUT/c7.sqlite" --quiet
    done
    "$PY" -m giantstep results "$OUT/c7.sqlite" --format csv --out "$OUT/c7.csv" --force
fi
echo "== done: $OUT"
ls -l "$OUT"
