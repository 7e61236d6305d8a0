#!/usr/bin/env bash
# The quickstart: adapt a spam classifier trained on last year's mail to this year's, with LoR2C.
# Every step is a plain `lor2c` command; read them top to bottom. About 2 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/quickstart}
lor2c() { node bin/lor2c.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
mkdir -p "$OUT"

step "1. Data: the SpamAssassin corpus as JSONL (older collection, newer collection split 85/15)"
npx tsx examples/spam/prepare.ts --out "$OUT/data"

step "2. A base model: a BERT-like encoder (4 layers, d 64), written as ONNX"
npx tsx examples/models/write.ts bert --layers 4 --d-model 64 --heads 4 --ffn 256 \
  --vocab-size 2000 --max-positions 64 --out "$OUT/bert-init.onnx"

step "3. Train the base model on last year's mail (full fine-tuning, 1 epoch)"
lor2c compile examples/spam/base.lor2c --model "$OUT/bert-init.onnx" --out "$OUT/base-artifacts"
lor2c train "$OUT/base-artifacts" --data "$OUT/data/base.jsonl" --checkpoint "$OUT/base-checkpoints"
lor2c export "$OUT/base-artifacts" --checkpoint "$OUT/base-checkpoints" --merged "$OUT/base.onnx"

step "4. Look at it: blocks, projections, parameters"
lor2c inspect "$OUT/base.onnx" | sed -n "1,30p"

step "5. Compile the LoR2C spec against the base model"
lor2c check examples/spam/spam.lor2c --model "$OUT/base.onnx"
lor2c compile examples/spam/spam.lor2c --model "$OUT/base.onnx" --out "$OUT/lor2c"

step "6. The base model on this year's mail (B = 0: the adapted model starts as the base)"
lor2c eval "$OUT/lor2c" --data "$OUT/data/eval.jsonl"

step "7. Adapt with LoR2C: 4,226 trainable parameters, 1.3% of the base"
lor2c train "$OUT/lor2c" --data "$OUT/data/train.jsonl" --eval-data "$OUT/data/eval.jsonl" \
  --checkpoint "$OUT/checkpoints" --log "$OUT/train-log.jsonl"

step "8. The adapted model on this year's mail (best checkpoint)"
lor2c eval "$OUT/lor2c" --data "$OUT/data/eval.jsonl" --checkpoint "$OUT/checkpoints" --best

step "9. Ship it: the adapter alone (PEFT-like), and one standalone ONNX model with it inside"
lor2c export "$OUT/lor2c" --checkpoint "$OUT/checkpoints" --best --adapter "$OUT/adapter/adapter_model.safetensors"
lor2c export "$OUT/lor2c" --checkpoint "$OUT/checkpoints" --best --merged "$OUT/spam-classifier.onnx"
head -n 3 "$OUT/data/eval.jsonl" > "$OUT/three-emails.jsonl"
lor2c infer "$OUT/lor2c" --data "$OUT/three-emails.jsonl" --adapter "$OUT/adapter/adapter_model.safetensors" | cut -c1-160  # cut reads everything: no broken pipe

step "10. The run as a picture: loss, LR, evaluation, SFS per module, parameters (open it in a browser)"
lor2c report "$OUT/train-log.jsonl" --out "$OUT/report.html"
echo
echo "done: artifacts, checkpoints, training log, report ($OUT/report.html) and exported models are in $OUT/"
