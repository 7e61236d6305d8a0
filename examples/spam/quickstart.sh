#!/usr/bin/env bash
# The quickstart: adapt a small pretrained encoder (examples/pretrain/encoder/, masked-LM
# pretrained by lor2c on State of the Union addresses) to spam filtering, with LoR2C.
# Every step is a plain `lor2c` command; read them top to bottom. A few minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/quickstart}
lor2c() { node bin/lor2c.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
mkdir -p "$OUT"

step "1. Data: the newer SpamAssassin collection as JSONL text, split 85/15 (the 15% is the test split)"
npx tsx examples/spam/prepare.ts --out "$OUT/data"

step "2. A base model: the pretrained BERT-like encoder (examples/pretrain/encoder/) under a new classification head"
# Every encoder weight from encoder.onnx; the pooler and classifier are new (seeded), for the task.
npx tsx examples/models/write.ts bert --head classifier --layers 4 --d-model 64 --heads 4 --ffn 256 \
  --vocab-size 4000 --max-positions 64 --pooling mean --seed 1 --weights-from examples/pretrain/encoder/encoder.onnx --out "$OUT/base.onnx"

step "3. Look at it: blocks, projections, parameters"
lor2c inspect "$OUT/base.onnx" | sed -n "1,30p"

step "4. Compile the LoR2C spec against the base model (raw text, read with the encoder's tokenizer)"
lor2c check examples/spam/spam.lor2c --model "$OUT/base.onnx"
lor2c compile examples/spam/spam.lor2c --model "$OUT/base.onnx" --out "$OUT/lor2c"

step "5. The base model on the test split (B = 0 and the head untrained: the adapted model starts here)"
lor2c eval "$OUT/lor2c" --data "$OUT/data/eval.jsonl"

step "6. Adapt with LoR2C: 8,386 trainable parameters (the adapters and the new head), 1.8% of the base"
lor2c train "$OUT/lor2c" --data "$OUT/data/train.jsonl" --eval-data "$OUT/data/eval.jsonl" \
  --checkpoint "$OUT/checkpoints" --log "$OUT/train-log.jsonl"

step "7. The adapted model on the test split (the last checkpoint: choosing the best one by its test score would flatter it)"
lor2c eval "$OUT/lor2c" --data "$OUT/data/eval.jsonl" --checkpoint "$OUT/checkpoints"

step "8. Ship it: the adapter alone (PEFT-like), and one standalone ONNX model with it inside"
lor2c export "$OUT/lor2c" --checkpoint "$OUT/checkpoints" --adapter "$OUT/adapter/adapter_model.safetensors"
lor2c export "$OUT/lor2c" --checkpoint "$OUT/checkpoints" --merged "$OUT/spam-classifier.onnx"
head -n 3 "$OUT/data/eval.jsonl" > "$OUT/three-emails.jsonl"
lor2c infer "$OUT/lor2c" --data "$OUT/three-emails.jsonl" --adapter "$OUT/adapter/adapter_model.safetensors" | cut -c1-160  # cut reads everything: no broken pipe

step "9. The run as a picture: loss, LR, evaluation, SFS per module, parameters (open it in a browser)"
lor2c report "$OUT/train-log.jsonl" --out "$OUT/report.html"
echo
echo "done: artifacts, checkpoints, training log, report ($OUT/report.html) and exported models are in $OUT/"
