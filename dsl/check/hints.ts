/**
 * Vocabulary for hints: where call arguments live, phrasings borrowed from other tools, and an
 * example argument for each call. Section keys and their homes come from the section schemas.
 */

/** Where call arguments go, for "`lr` goes in ..." hints (section keys' homes come from the schemas: check/homes.ts). */
export const KEY_HOMES_IN_CALLS: Record<string, string> = {
  lr: '`optimizer adamw(lr ...)` in `train { }`',
  weight_decay: '`optimizer adamw(weight_decay ...)` in `train { }`',
  warmup: '`schedule linear(warmup 6%)` in `train { }`',
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
