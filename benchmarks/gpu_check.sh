#!/usr/bin/env bash
# GPU checks for the hf backend (#17 part 4, and #19's architecture matrix), on ONE GPU, meant
# to finish in under 8 minutes on an H100/H200-class card. Run from the repository root with
# the project's Python (CUDA torch; lm-eval 0.4.x for the comparison):
#   bash benchmarks/gpu_check.sh [OUTPUT_DIR]
#
# 1. bf16 accuracy: the demo model (SmolLM2-135M) scores 20 documents x 5 choices in bfloat16
#    on the GPU; each choice log-prob must be within 0.5 nats of the naive float32 reference
#    (one unbatched full pass per context+choice): LOW_PRECISION_TOLERANCE in
#    benchmarks/hf_choice_scoring.py, the bound of the backend's own bf16 self-check. The
#    largest change of a normalised choice probability is printed beside it.
# 2. speed: an 8B Llama-3-shaped model with random weights, bfloat16, 200 documents, letters
#    and phrases: moralbench with --batch-size auto (the default on CUDA does the same, see
#    batching_mode in plugins/hf/batch_size.py), lm-eval at batch 32 and 64, and the
#    harness-free ceiling. Targets: moralbench >= 85% of the ceiling, >= 2x lm-eval's docs/s.
# 3. the architecture matrix in bfloat16 and float32 on the GPU.
# Then one table (benchmarks/gpu_check_table.py); the exit status is 1 if a target is missed.
#
# GPU_CHECK_DRY_RUN=1 runs every step on the CPU at toy size (4 documents, a 2-layer model of
# the same shape) to check the script itself: the figures mean nothing and no target applies.
set -euo pipefail

PYTHON="${PYTHON:-python}"
OUT="${1:-gpu-check-results}"
DRY_RUN="${GPU_CHECK_DRY_RUN:-0}"
export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"  # one GPU, whatever the machine has

if [[ "$DRY_RUN" == 1 ]]; then
    DEVICE=cpu ACCURACY_DOCS=4 SPEED_DOCS=4 SPEED_MODEL=tiny-random
else
    if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
        echo "gpu_check: no CUDA GPU visible to torch; the GPU checks wait for a GPU machine."
        echo "gpu_check: GPU_CHECK_DRY_RUN=1 runs the same steps on CPU at toy size."
        exit 0
    fi
    DEVICE=cuda ACCURACY_DOCS=20 SPEED_DOCS=200 SPEED_MODEL=8b-random
fi

mkdir -p "$OUT"
: >"$OUT/timings.tsv"
status=0
step() {  # step NAME COMMAND...: run it, record its seconds, remember a failure
    local name="$1" started=$SECONDS
    shift
    echo "== $name"
    "$@" || status=1
    printf '%s\t%s\n' "$name" "$((SECONDS - started))" >>"$OUT/timings.tsv"
}

tools=moralbench,ceiling
if "$PYTHON" -c 'import lm_eval' 2>/dev/null; then
    tools=moralbench,lmeval,ceiling
else
    echo "gpu_check: lm-eval is not installed (pip install 'lm-eval>=0.4,<0.5'): no comparison"
fi

step accuracy "$PYTHON" benchmarks/hf_choice_scoring.py --device "$DEVICE" --dtype bfloat16 \
    --model-config demo --variant both --docs "$ACCURACY_DOCS" \
    --reference-docs "$ACCURACY_DOCS" --tools moralbench,reference --json "$OUT/accuracy.json"
step speed "$PYTHON" benchmarks/hf_choice_scoring.py --device "$DEVICE" --dtype bfloat16 \
    --model-config "$SPEED_MODEL" --variant both --docs "$SPEED_DOCS" --batch-size auto \
    --lmeval-batch-size 32,64 --tools "$tools" --json "$OUT/speed.json"
step matrix-bfloat16 "$PYTHON" benchmarks/hf_architecture_matrix.py --device "$DEVICE" \
    --dtype bfloat16 --output "$OUT/matrix_bfloat16.json"
# float32 on the GPU: 1e-3, GPU kernels (not TF32) reduce in another order than the reference
step matrix-float32 "$PYTHON" benchmarks/hf_architecture_matrix.py --device "$DEVICE" \
    --dtype float32 --tolerance 1e-3 --output "$OUT/matrix_float32.json"

dry=()
[[ "$DRY_RUN" == 1 ]] && dry=(--dry-run)
"$PYTHON" benchmarks/gpu_check_table.py "$OUT" "${dry[@]}" || status=1
exit "$status"
