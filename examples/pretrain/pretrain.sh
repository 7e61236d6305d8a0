#!/usr/bin/env bash
# Pretrains the small GPT-2-like decoder in examples/pretrain/ from scratch with lor2c's own
# full-parameter training, on State of the Union addresses (held-out addresses excluded), and
# writes what is committed beside this script: decoder.onnx, tokenizer.json, pretrain-log.jsonl
# and the timings in pretrain-times.txt. Minutes on 2 CPU cores.
#   bash examples/pretrain/pretrain.sh            (OUT=out/pretrain by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/pretrain}
HERE=examples/pretrain
lor2c() { node bin/lor2c.js "$@"; }
timed() { local label=$1 start=$SECONDS; shift; "$@"; echo "$label: $((SECONDS - start)) s" >> "$OUT/times.txt"; }
mkdir -p "$OUT"
: > "$OUT/times.txt"

timed "prepare text" npx tsx $HERE/prepare.ts --out "$OUT/data"
timed "tokenizer train" lor2c tokenizer train "$OUT/data/sotu-train.jsonl" --kind bpe --vocab-size 2048 --out "$OUT/tokenizer.json"
timed "write the initial model" npx tsx examples/models/write.ts gpt2 --layers 3 --d-model 96 --heads 4 --ffn 384 \
  --vocab-size 2048 --max-positions 64 --seed 1 --out "$OUT/decoder-init.onnx"
lor2c compile $HERE/decoder.lor2c --model "$OUT/decoder-init.onnx" --out "$OUT/artifacts" \
  --tokenizer "$OUT/tokenizer.json" --max-length 64
# Evaluation on 256 rows of the held-out addresses (all 2,288 would cost more than the training).
head -n 256 "$OUT/data/sotu-eval.jsonl" > "$OUT/data/sotu-eval-256.jsonl"
timed "pretrain (400 steps)" lor2c train "$OUT/artifacts" --data "$OUT/data/sotu-train.jsonl" --eval-data "$OUT/data/sotu-eval-256.jsonl" \
  --eval-every 200 --checkpoint "$OUT/checkpoints" --log "$OUT/pretrain-log.jsonl"
lor2c export "$OUT/artifacts" --checkpoint "$OUT/checkpoints" --merged "$OUT/decoder.onnx"
cat "$OUT/times.txt"
# What is committed: the model and its data file, the tokenizer, the training log, the timings.
rm -f $HERE/decoder.onnx $HERE/decoder.onnx.*.data
cp "$OUT"/decoder.onnx "$OUT"/decoder.onnx.*.data "$OUT/tokenizer.json" "$OUT/pretrain-log.jsonl" $HERE/
cp "$OUT/times.txt" $HERE/pretrain-times.txt
