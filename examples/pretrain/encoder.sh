#!/usr/bin/env bash
# Pretrains the small BERT-like encoder in examples/pretrain/encoder/ from scratch with lor2c's
# own full-parameter training (masked LM), on State of the Union addresses (held-out addresses
# excluded; nothing of the spam corpus), and writes what is committed there: encoder.onnx (the
# encoder without its MLM head), tokenizer.json, pretrain-log.jsonl, the held-out MLM loss
# before and after in pretrain-eval.txt and the timings in pretrain-times.txt. About 15 minutes
# on 2 busy CPU cores.
#   bash examples/pretrain/encoder.sh            (OUT=out/encoder by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/encoder}
HERE=examples/pretrain
DEST=$HERE/encoder
lor2c() { node bin/lor2c.js "$@"; }
timed() { local label=$1 start=$SECONDS; shift; "$@"; echo "$label: $((SECONDS - start)) s" >> "$OUT/times.txt"; }
SIZES=(--layers 4 --d-model 64 --heads 4 --ffn 256 --vocab-size 4000 --max-positions 64)
mkdir -p "$OUT"
: > "$OUT/times.txt"

timed "prepare text" npx tsx $HERE/prepare.ts --out "$OUT/data"
timed "tokenizer train" lor2c tokenizer train "$OUT/data/sotu-train.jsonl" --kind wordpiece --vocab-size 4000 --out "$OUT/tokenizer.json"
# BERT's masking, written into the rows (static): one masked copy, as 800 steps of 16 rows see a
# quarter of the text once. The held-out rows are masked once with another seed, the same for every evaluation.
head -n 256 "$OUT/data/sotu-eval.jsonl" > "$OUT/data/sotu-eval-256.jsonl"
timed "mask" npx tsx $HERE/encoder-mask.ts "$OUT/data/sotu-train.jsonl" --tokenizer "$OUT/tokenizer.json" --max-length 64 --seed 1 --out "$OUT/data/mlm-train.jsonl"
npx tsx $HERE/encoder-mask.ts "$OUT/data/sotu-eval-256.jsonl" --tokenizer "$OUT/tokenizer.json" --max-length 64 --seed 2 --out "$OUT/data/mlm-eval.jsonl"
timed "write the initial model" npx tsx examples/models/write.ts bert --head mlm "${SIZES[@]}" --seed 1 --out "$OUT/mlm-init.onnx"
lor2c compile $HERE/encoder.lor2c --model "$OUT/mlm-init.onnx" --out "$OUT/artifacts"
{ echo "held-out MLM loss before pretraining (the initial model):"; lor2c eval "$OUT/artifacts" --data "$OUT/data/mlm-eval.jsonl"; } | tee "$OUT/eval.txt"
timed "pretrain (800 steps)" lor2c train "$OUT/artifacts" --data "$OUT/data/mlm-train.jsonl" --eval-data "$OUT/data/mlm-eval.jsonl" \
  --eval-every 400 --checkpoint "$OUT/checkpoints" --log "$OUT/pretrain-log.jsonl"
{ echo "held-out MLM loss after pretraining:"; lor2c eval "$OUT/artifacts" --data "$OUT/data/mlm-eval.jsonl" --checkpoint "$OUT/checkpoints"; } | tee -a "$OUT/eval.txt"
# The trained model keeps its MLM head; the encoder alone is the same architecture without it,
# every weight taken from the trained model (write.ts --weights-from).
lor2c export "$OUT/artifacts" --checkpoint "$OUT/checkpoints" --merged "$OUT/mlm.onnx"
npx tsx examples/models/write.ts bert --head none "${SIZES[@]}" --weights-from "$OUT/mlm.onnx" --out "$OUT/encoder.onnx"
cat "$OUT/times.txt"
# What is committed: the encoder, the tokenizer, the training log, the evaluations, the timings.
mkdir -p $DEST
cp "$OUT/encoder.onnx" "$OUT/tokenizer.json" "$OUT/pretrain-log.jsonl" $DEST/
cp "$OUT/eval.txt" $DEST/pretrain-eval.txt
cp "$OUT/times.txt" $DEST/pretrain-times.txt
