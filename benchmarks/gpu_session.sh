#!/usr/bin/env bash
# One prepared run of the GPU checks on a lent GPU machine without TensorFlow (../shared/GPU.md),
# about 9 minutes with the defaults; every figure and log goes under $OUT.
#
#   here:   bash ../shared/gpu/prepare.sh            (wheels in .whl/, Fashion-MNIST in .data/)
#   there:  bash benchmarks/gpu_session.sh           (carry .whl and .data along with the checkout)
#
# Settings (environment): BACKEND (jax; torch also works there), BUDGET (seconds per search, 180),
# EXECUTORS ("serial local"), OVERHEAD_BATCHES ("32 256 1024"), TRAIN_IMAGES (60000).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu_session_out}
mkdir -p "$OUT"
if [ -d .whl ]; then  # the GPU machine: keras and the few packages missing there, from prepare.sh
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
fi
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=${BACKEND:-jax} XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
if [ -d .data/fashion-mnist ]; then export AUTONAS_FASHION_MNIST=$PWD/.data/fashion-mnist; fi
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
python3 -c "import keras, autonas; print('keras', keras.__version__, keras.config.backend())" | tee "$OUT/versions.txt"
# 1. the host's cost per step: one step per callback call against the runner's choice, on all 60,000 images
timeout 150 python3 benchmarks/epoch_overhead.py --train-images "${TRAIN_IMAGES:-60000}" --epochs 3 \
    --batches ${OVERHEAD_BATCHES:-32 256 1024} --output "$OUT" 2>&1 | tee "$OUT/epoch_overhead.log"
# 2. serial against parallel trials on the GPU, same budget, NVML utilisation, estimated vs measured memory
timeout $(( 2 * ${BUDGET:-180} + 150 )) python3 benchmarks/gpu.py --budget "${BUDGET:-180}" --batches \
    --train-images "${TRAIN_IMAGES:-60000}" \
    --executors ${EXECUTORS:-serial local} --output "$OUT/gpu" 2>&1 | tee "$OUT/gpu.log"
echo "figures in $OUT"
