/**
 * Command-line flags of write.ts, derived from the builders' default configs: every config
 * field `fooBar` is a flag `--foo-bar`, parsed by the type of its default (numbers, choices,
 * booleans as `--flag`, `--flag=false` or `--no-flag`). Adding a config field adds its flag.
 */
import { UserError } from '../../contract/errors.ts';
import { DEFAULTS, type Architecture } from './config.ts';

export interface WriteArgs {
  arch: Architecture;
  config: Record<string, unknown>;
  out: string;
  /** A model whose same-named weights replace the fresh ones (weights-from.ts). */
  weightsFrom?: string;
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/** Fields whose default is undefined but whose values are numbers. */
const NUMERIC_OPTIONAL = new Set(['opset', 'kvHeads']);

export function isArchitecture(name: string | undefined): name is Architecture {
  return name !== undefined && Object.hasOwn(DEFAULTS, name);
}

export function parseWriteArgs(argv: string[]): WriteArgs {
  const [arch, ...rest] = argv;
  if (!isArchitecture(arch)) throw new UserError(`expected an architecture (${Object.keys(DEFAULTS).join(', ')}) first, got '${arch ?? ''}'`, usage());
  const defaults = DEFAULTS[arch] as unknown as Record<string, unknown>;
  const fields = new Map(Object.keys(defaults).map((k) => [kebab(k), k]));
  const config: Record<string, unknown> = {};
  let out: string | undefined;
  let weightsFrom: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('--')) throw new UserError(`unexpected argument '${arg}'`, usage(arch));
    let [flag, inline] = splitOnce(arg.slice(2));
    let negated = false;
    if (!fields.has(flag) && flag.startsWith('no-') && fields.has(flag.slice(3))) [flag, negated] = [flag.slice(3), true];
    const takeValue = () => {
      if (inline !== undefined) return inline;
      const v = rest[++i];
      if (v === undefined) throw new UserError(`--${flag} needs a value`);
      return v;
    };
    if (flag === 'out') {
      out = takeValue();
      continue;
    }
    if (flag === 'weights-from') {
      weightsFrom = takeValue();
      continue;
    }
    const key = fields.get(flag);
    if (key === undefined) throw new UserError(`unknown flag --${flag} for ${arch}`, usage(arch));
    const fallback = defaults[key];
    if (typeof fallback === 'boolean') {
      if (negated) config[key] = false;
      else if (inline === undefined) config[key] = true;
      else if (inline === 'true' || inline === 'false') config[key] = inline === 'true';
      else throw new UserError(`--${flag} takes true or false, got '${inline}'`);
    } else if (typeof fallback === 'number' || NUMERIC_OPTIONAL.has(key)) {
      const text = takeValue();
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new UserError(`--${flag} must be a number, got '${text}'`);
      config[key] = n;
    } else {
      config[key] = takeValue();
    }
  }
  if (out === undefined) throw new UserError('missing --out FILE.onnx', usage(arch));
  return { arch, config, out, ...(weightsFrom !== undefined ? { weightsFrom } : {}) };
}

function splitOnce(text: string): [string, string | undefined] {
  const at = text.indexOf('=');
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

export function usage(arch?: Architecture): string {
  const archs = arch ? [arch] : (Object.keys(DEFAULTS) as Architecture[]);
  const lines = [
    'usage: npx tsx examples/models/write.ts ARCH [--field value ...] [--weights-from MODEL.onnx] --out FILE.onnx',
    '  --weights-from: start from that model\'s weights wherever a name matches (a pretrained encoder under a new head)',
  ];
  for (const a of archs) {
    const d = DEFAULTS[a] as unknown as Record<string, unknown>;
    lines.push(`${a}: ${Object.entries(d).map(([k, v]) => `--${kebab(k)} (${v === undefined ? 'auto' : String(v)})`).join(' ')}`);
  }
  return lines.join('\n');
}
