import type { InitKind } from '../../contract/plan.ts';

/** Defaults, from docs/method.md §1 (LoR2C reference hyperparameters) and PyTorch's AdamW. */
export const DEFAULTS = {
  rank: 8,
  alpha: 16,
  lor2cDropout: 0.1,
  /** PEFT's lora_dropout default. */
  loraDropout: 0,
  init: 'kaiming' as InitKind,
  span: 1,
  lr: 4e-4,
  betas: [0.9, 0.999] as [number, number],
  eps: 1e-8,
  adamwWeightDecay: 0.01,
  /** docs/method.md §1: linear schedule with 6% warmup. */
  warmupFraction: 0.06,
  /** PyTorch's CrossEntropyLoss default. */
  ignoreIndex: -100,
  /** fp16 dynamic loss scaling: torch.cuda.amp.GradScaler's init_scale and growth_interval. */
  lossScale: 65536,
  lossScaleGrowth: 2000,
} as const;
