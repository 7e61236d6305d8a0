/**
 * Phrasings borrowed from other tools, with how this language says them. Section keys, where
 * they go and each call's example argument come from the section schemas (check/schema.ts).
 */

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
