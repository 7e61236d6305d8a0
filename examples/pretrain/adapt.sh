#!/usr/bin/env bash
# Adapts the committed decoder (examples/pretrain/decoder.onnx, pretrained on State of the Union
# addresses) to Moby-Dick with LoR2C, and prints `lor2c generate` samples and the held-out
# chapters' perplexity before and after. A few minutes on 2 CPU cores.
#   bash examples/pretrain/adapt.sh               (OUT=out/adapt by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/adapt}
HERE=examples/pretrain
lor2c() { node bin/lor2c.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
samples() {
  for prompt in "The whale" "I have" "The ship"; do
    lor2c generate "$OUT/artifacts" --prompt "$prompt" --max-tokens 30 "$@"
    lor2c generate "$OUT/artifacts" --prompt "$prompt" --max-tokens 30 --temperature 0.8 --top-k 40 --seed 1 "$@"
  done
}
mkdir -p "$OUT"

step "1. Text: Moby-Dick chapters 1-110 to adapt on, 111-135 held out"
npx tsx $HERE/prepare.ts --out "$OUT/data"
head -n 256 "$OUT/data/moby-eval.jsonl" > "$OUT/data/moby-eval-256.jsonl"

step "2. Compile LoR2C against the pretrained decoder, with its tokenizer"
lor2c compile $HERE/moby.lor2c --model $HERE/decoder.onnx --out "$OUT/artifacts" \
  --tokenizer $HERE/tokenizer.json --max-length 64

step "3. Before: the base decoder (B = 0) on held-out Moby-Dick, and its samples"
lor2c eval "$OUT/artifacts" --data "$OUT/data/moby-eval-256.jsonl"
samples

step "4. Adapt with LoR2C on Moby-Dick"
lor2c train "$OUT/artifacts" --data "$OUT/data/moby-train.jsonl" --checkpoint "$OUT/checkpoints" --log "$OUT/adapt-log.jsonl"

step "5. After: held-out Moby-Dick and samples with the adapter"
lor2c eval "$OUT/artifacts" --data "$OUT/data/moby-eval-256.jsonl" --checkpoint "$OUT/checkpoints"
samples --checkpoint "$OUT/checkpoints"
