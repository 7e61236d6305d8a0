/**
 * Vocabulary for hints: where each key lives, phrasings borrowed from other tools, an example
 * argument for each call, and the keys of the top level (so a value that is really the next
 * setting is recognised as such). Section keys come from their schemas (check/schema.ts).
 */

/** Which section each key belongs to, for "`epochs` goes inside `train { }`" hints. */
export const KEY_HOMES: Record<string, string> = {
  model: 'the top level',
  target: 'the top level',
  share: 'the top level',
  rank: '`lor2c { }`, `lora { }` or `inject { }`',
  alpha: '`lor2c { }`, `lora { }` or `inject { }`',
  dropout: '`lor2c { }`, `lora { }` or `inject { }`',
  span: '`lor2c { }`',
  on: '`lora { }` or `inject { }`',
  static: '`merge { }`',
  metric: '`merge { }` or `inject { }`',
  every: '`merge { }` or `inject { }`',
  until: '`merge { }` or `inject { }`',
  max_span: '`merge { }`',
  task: '`train { }`',
  optimizer: '`train { }`',
  schedule: '`train { }`',
  trainable: '`train { }`',
  batch: '`train { }`',
  accumulate: '`train { }`',
  epochs: '`train { }`',
  steps: '`train { }`',
  eval: '`train { }`',
  seed: '`train { }`',
  precision: '`train { }`',
  clip: '`train { }`',
  lr: '`optimizer adamw(lr ...)` in `train { }`',
  weight_decay: '`optimizer adamw(weight_decay ...)` in `train { }`',
  warmup: '`schedule linear(warmup 6%)` in `train { }`',
  max: '`merge { }` or `inject { }`',
};

/** Phrasings people reach for, with how this language says them. */
export const PHRASINGS: Record<string, string> = {
  at: 'write `max 4` for "at most 4"',
  from: 'choose blocks with `blocks 2..11`',
  layers: 'write `blocks 0..11`',
  r: 'write `rank 8`',
  lora_alpha: 'write `alpha 16`',
  lora_dropout: 'write `dropout 0.1`',
  target_modules: 'write `on q, v` in `lora { }`',
  epoch: 'write `epochs 3` in `train { }`',
  optimiser: 'write `optimizer adamw(...)`',
  device: 'write `target cuda` at the top level',
};

/** One named argument per call, for hints. */
export const ARGUMENT_EXAMPLES: Record<string, string> = {
  classify: 'logits "logits", labels "label"',
  lm: 'logits "logits", labels "input_ids"',
  regress: 'output "score", target "label"',
  adamw: 'lr 4e-4',
  sgd: 'lr 0.01, momentum 0.9',
  constant: 'warmup 100 steps',
  linear: 'warmup 6%',
  cosine: 'warmup 6%',
};

export const TOP_KEYS = ['model', 'blocks', 'lor2c', 'lora', 'share', 'merge', 'inject', 'train', 'target', 'text'];
