#!/usr/bin/env bash
# GPU checks for the hf backend, run from the repository root with the project's Python:
#   bash benchmarks/gpu_check.sh [OUTPUT_DIR]
# Architecture matrix (#19): every verified family scored in bfloat16 (and float32) on the GPU
# against the model's own full forward. Without a CUDA GPU the GPU part is skipped with a
# message and the script exits 0 (the float32 matrix runs on CPU in
# tests/test_hf_architectures.py).
set -euo pipefail

PYTHON="${PYTHON:-python}"
OUT="${1:-gpu-check-results}"

if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: no CUDA GPU visible to torch; skipping the GPU part" \
        "(architecture matrix in bfloat16 and float32)."
    echo "gpu_check: on CPU run: $PYTHON -m pytest tests/test_hf_architectures.py"
    exit 0
fi

mkdir -p "$OUT"
status=0
echo "== architecture matrix, bfloat16 on $("$PYTHON" -c 'import torch; print(torch.cuda.get_device_name())')"
"$PYTHON" benchmarks/hf_architecture_matrix.py --device cuda --dtype bfloat16 \
    --output "$OUT/architecture_matrix_bfloat16.json" || status=1
echo "== architecture matrix, float32 (tolerance 1e-3: GPU kernels, not TF32)"
"$PYTHON" benchmarks/hf_architecture_matrix.py --device cuda --dtype float32 --tolerance 1e-3 \
    --output "$OUT/architecture_matrix_float32.json" || status=1
exit "$status"
