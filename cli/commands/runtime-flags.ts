/** Flags shared by the commands that run artifacts (infer, eval): target, threads, batch, value source. */
import { positiveInt, threadsFlag } from '../args.ts';
import { UsageError } from '../command.ts';
import { type Target, sourceParameters, type ParameterSourceOptions, adapterWarnings, readManifest } from '../../runtime/index.ts';
import type { Manifest } from '../../contract/manifest.ts';

export const RUNTIME_OPTIONS = {
  target: { type: 'string' },
  threads: { type: 'string' },
  batch: { type: 'string' },
  checkpoint: { type: 'string' },
  best: { type: 'boolean' },
  adapter: { type: 'string' },
  'skip-invalid': { type: 'boolean' },
} as const;

/** The help lines of the flags that choose a run's adapter values (infer, evaluate, generate). */
export const ADAPTER_HELP = `  --adapter FILE       adapter values (safetensors with the artifacts' parameter names,
                       or a PEFT LoRA adapter_model.safetensors from \`export --peft\`)
  --checkpoint CKPT    a checkpoint folder (its latest checkpoint) or one checkpoint directory
  --best               with --checkpoint: its best checkpoint instead of the latest`;

export const RUNTIME_HELP = `${ADAPTER_HELP}
  --batch N            rows per batch (default 16; a graph with a fixed batch size decides)
  --target cpu|cuda    execution provider (cuda falls back to cpu with a notice when absent)
  --threads N          threads inside one op (default: onnxruntime's choice)
  --skip-invalid       leave bad data rows out (reported) instead of refusing the file`;

export function parseTarget(value: string | undefined): Target | undefined {
  if (value === undefined || value === 'cpu' || value === 'cuda') return value;
  throw new UsageError(`--target must be cpu or cuda, got '${value}'`);
}

/** Positional DIR, exactly one. */
export function oneDir(positionals: string[], what = 'DIR'): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one artifacts ${what}${positionals.length > 1 ? `, got ${positionals.length} arguments` : ''}`);
  return positionals[0]!;
}

export function runtimeFlags(values: { target?: string; threads?: string; batch?: string; checkpoint?: string; best?: boolean; adapter?: string }) {
  if (values.checkpoint !== undefined && values.adapter !== undefined) throw new UsageError('give --checkpoint or --adapter, not both');
  if (values.best && values.checkpoint === undefined) throw new UsageError('--best needs --checkpoint');
  const source: ParameterSourceOptions = { checkpoint: values.checkpoint, best: values.best, adapter: values.adapter };
  return { target: parseTarget(values.target), threads: threadsFlag(values.threads), batch: positiveInt('batch', values.batch), source };
}

/**
 * What `eval` and `infer` both start with: the manifest of DIR and the parameter values to run
 * with (checkpoint, --adapter file or DIR's own), warning when an adapter names another base.
 */
export function manifestAndParameters(command: string, dir: string, source: ParameterSourceOptions) {
  const params = sourceParameters(dir, readManifest(dir), source);
  // A checkpoint made after a Merge/Inject belongs to its recompile, which the command then runs.
  const manifest = params.manifest;
  if (source.adapter !== undefined) warnAboutAdapter(command, manifest, source.adapter);
  return { manifest, params, artifacts: params.artifacts };
}

/** Prints adapterWarnings' warnings for an adapter given to `command`. */
export function warnAboutAdapter(command: string, manifest: Manifest, adapterFile: string): void {
  for (const warning of adapterWarnings(manifest, adapterFile)) console.error(`lor2c ${command}: warning: ${warning}`);
}
