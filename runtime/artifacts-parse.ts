/**
 * An artifacts directory's contents read from bytes already in hand (a page's files, or
 * artifacts.ts's file reads): the manifest checked for format and version, parameter sets
 * checked against it.
 */
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { decodeSafetensors, float32Values } from '../contract/safetensors.ts';
import type { Float32Tensor } from './checkpoint.ts';

/** Parses manifest.json's text; `where` names it in messages. */
export function parseManifest(text: string, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new UserError(`${where}: not JSON (${(e as Error).message})`);
  }
  if (m?.format !== 'lor2c-artifacts') throw new UserError(`${where}: not a lor2c manifest (format ${JSON.stringify(m?.format)})`);
  if (m.formatVersion !== 1) throw new UserError(`${where}: manifest format version ${m.formatVersion} is not supported (this runtime reads version 1)`, 'recompile with this lor2c version');
  return m;
}

/**
 * Checks that `values` holds exactly the manifest's parameters with the right shapes and only
 * finite values; the error lists every missing, unexpected, mis-shaped and non-finite tensor.
 */
export function checkParameterSet(manifest: Manifest, values: ReadonlyMap<string, Float32Tensor>, source: string): void {
  const problems: string[] = [];
  const expected = new Map(manifest.parameters.map((p) => [p.name, p]));
  for (const p of manifest.parameters) {
    const v = values.get(p.name);
    if (!v) problems.push(`missing '${p.name}' (${JSON.stringify(p.shape)})`);
    else if (JSON.stringify(v.shape) !== JSON.stringify(p.shape)) problems.push(`'${p.name}' has shape ${JSON.stringify(v.shape)}, expected ${JSON.stringify(p.shape)}`);
    else {
      // NaN or Inf would run silently (null probabilities, NaN metrics) or poison training.
      const bad = v.data.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) problems.push(`'${p.name}' holds ${v.data[bad]} at element ${bad}${countNonFinite(v.data) > 1 ? ` (${countNonFinite(v.data)} non-finite values)` : ''}`);
    }
  }
  for (const name of values.keys()) if (!expected.has(name)) problems.push(`unexpected '${name}' (not a trainable parameter of these artifacts)`);
  if (problems.length > 0) {
    throw new UserError(`${source} does not match the artifacts' parameters:\n  ${problems.join('\n  ')}`, `the artifacts expect: ${manifest.parameters.map((p) => p.name).join(', ')}`);
  }
}

function countNonFinite(a: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) n++;
  return n;
}

/** Parameter values (float32) from safetensors bytes, checked against the manifest, in manifest order. */
export function decodeParameters(manifest: Manifest, bytes: Uint8Array, source: string): Map<string, Float32Tensor> {
  const contents = decodeSafetensors(bytes, source);
  const values = new Map<string, Float32Tensor>();
  for (const [name, t] of contents.tensors) values.set(name, { shape: t.shape, data: float32Values(t, name) });
  checkParameterSet(manifest, values, source);
  // Manifest order, so feeds and files are laid out the same way every time.
  return new Map(manifest.parameters.map((p) => [p.name, values.get(p.name)!]));
}
