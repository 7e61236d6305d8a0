#!/usr/bin/env bash
# The GPU check, in one go, on a machine with an NVIDIA GPU:
#   1. finds the CUDA provider libraries onnxruntime-node loads (or says which files are
#      missing and where it looked), and the CUDA 12 / cuDNN 9 runtime libraries they need;
#   2. checks that a GPU is there (nvidia-smi);
#   3. runs the LoR2C step benchmark (bench/lor2c.ts) compiled for and trained on the CUDA
#      provider;
#   4. prints each provider's node count for that train graph, from ORT's own placement log,
#      and whether any compute node fell back to the CPU (bench/cuda-placement.ts);
#   5. the same for the base written as its float16 export (computed in float32, weights cast at load);
#   6. the same for `precision fp16` training (half forward and backward, fp32 master weights,
#      dynamic loss scaling; the skipped-step count is printed), and `precision bf16`.
# Exit status: 0 all on CUDA, 1 compute fell back to CPU, 2 cannot run here (says why).
# Every step has a time limit: on a machine without the libraries or a GPU it fails at once.
#
#   bash bench/device.sh [--layers 4] [--d 256] ... (passed to bench/lor2c.ts)
set -u
cd "$(dirname "$0")/.."
fail() { echo "FAIL: $*" >&2; exit 2; }

ORT_DIR=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
[ -d "$ORT_DIR" ] || fail "onnxruntime-node is not installed here ($ORT_DIR is missing): run npm ci"
echo "onnxruntime-node $(node -p "require('./node_modules/onnxruntime-node/package.json').version") in $ORT_DIR"

# 1. ORT's provider libraries sit beside its binding; the npm package has them only when it
# was installed with ONNXRUNTIME_NODE_INSTALL=cuda12.
missing=0
for lib in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  if [ -f "$ORT_DIR/$lib" ]; then echo "found     $ORT_DIR/$lib"; else echo "MISSING   $ORT_DIR/$lib"; missing=1; fi
done
if [ "$missing" = 1 ]; then
  echo "  onnxruntime-node's CUDA provider is not installed; with internet access:"
  echo "  ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node@$(node -p "require('./node_modules/onnxruntime-node/package.json').version")"
fi

# The CUDA runtime the provider links against: looked up where the dynamic loader looks.
search_dirs() {
  tr ':' '\n' <<<"${LD_LIBRARY_PATH:-}"
  ls -d /usr/local/cuda*/lib64 /usr/local/cuda*/targets/*/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib 2>/dev/null
  find / -maxdepth 6 -path '*/nvidia/*/lib' -type d 2>/dev/null | head -20 # pip's nvidia-* wheels
}
DIRS=$(search_dirs | awk 'NF && !seen[$0]++')
for lib in libcudart.so.12 libcublas.so.12 libcublasLt.so.12 libcufft.so.11 libcudnn.so.9; do
  hit=$(timeout 10 ldconfig -p 2>/dev/null | awk -v l="$lib" '$1 == l { print $NF; exit }')
  if [ -z "$hit" ]; then for d in $DIRS; do [ -e "$d/$lib" ] && { hit="$d/$lib"; break; }; done; fi
  if [ -n "$hit" ]; then echo "found     $hit"; else echo "MISSING   $lib (ldconfig cache and: $(echo $DIRS | tr '\n' ' '))"; missing=1; fi
done

# 2. A GPU.
if ! command -v nvidia-smi >/dev/null; then
  echo "MISSING   nvidia-smi (not on PATH: no NVIDIA driver here)"; missing=1
elif ! gpus=$(timeout 20 nvidia-smi -L 2>&1) || ! grep -q '^GPU ' <<<"$gpus"; then
  echo "MISSING   a GPU: nvidia-smi -L says: $gpus"; missing=1
else
  echo "found     $gpus"
fi
[ "$missing" = 0 ] || fail "cannot run on the CUDA provider here: see MISSING above"

# 3-5. The step benchmark on CUDA, then where ORT put each node of its train graph; for the
# base as stored in float32, then as its float16 export. The runtime falls back to the CPU
# with a notice when CUDA cannot load; here that is a failure.
OUT=$(mktemp -d "${TMPDIR:-/tmp}/lor2c-device-XXXXXX")
trap 'rm -rf "$OUT"' EXIT
# step_on_cuda NAME [lor2c.ts flags...]: benchmark into $OUT/NAME; prints the placement; returns its status.
step_on_cuda() {
  local name=$1; shift
  timeout 900 npx tsx bench/lor2c.ts --layers 4 --d 256 --heads 4 --ffn 1024 --vocab 8000 --batch 8 --seq 128 --steps 10 "${ARGS[@]}" "$@" --target cuda --keep "$OUT/$name" 2>"$OUT/$name.stderr"
  local status=$?
  cat "$OUT/$name.stderr" >&2
  [ "$status" = 0 ] || fail "the $name step benchmark failed (status $status)"
  grep -q 'CUDA is not available' "$OUT/$name.stderr" && fail "the $name run fell back to the CPU provider (its notice is above)"
  timeout 600 npx tsx bench/cuda-placement.ts "$OUT/$name/artifacts/train.onnx"
}
ARGS=("$@")
step_on_cuda float32-base; placed=$?
step_on_cuda float16-base --half; half_placed=$?
step_on_cuda fp16-training --precision fp16; fp16_placed=$?
step_on_cuda bf16-training --precision bf16; bf16_placed=$?
worst=0
for s in "$placed" "$half_placed" "$fp16_placed" "$bf16_placed"; do [ "$s" -gt "$worst" ] && worst=$s; done
[ "$worst" = 0 ] && echo "every compute node of the four train graphs is on the CUDA provider"
exit "$worst"
