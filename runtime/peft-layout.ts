/**
 * How lor2c's trainable parameters map to a PEFT LoRA adapter's tensors (docs/architecture.md,
 * "PEFT adapters"): read from the compiled inference graph, never guessed from parameter names.
 *
 * - A LoRA target's module path is the name of the weight its projection reads, less
 *   `.weight` (a torch export names it `encoder.layer.0.attention.self.query.weight`). Its A
 *   [r, in] and B [out, r] already have PEFT's orientation; its alpha is read from the graph's
 *   scale (alpha = scale * r), so PEFT computes the same delta.
 * - A trained original weight (the task head) keeps its initializer name; one that a MatMul
 *   reads as x W is [in, out], the transpose of a torch Linear's [out, in] weight.
 * - Anything else is refused, naming the projection and what to do: a weight whose name is no
 *   module path (`onnx::MatMul_123`), a weight computed in the graph (a Transpose of an unfolded
 *   export), a part of a fused QKV projection, and every LoR2C module (PEFT has no counterpart).
 */
import { join } from 'node:path';
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { readModelGraph } from '../compiler/model-graph.ts';
import { attrInt, traceLoraPath, type Graph, type Node } from '../compiler/portable.ts';

/** PEFT's file names in an adapter folder. */
export const PEFT_WEIGHTS = 'adapter_model.safetensors';
export const PEFT_CONFIG = 'adapter_config.json';
/**
 * Metadata key of the weights lor2c exports: the sha256 of the adapter_config.json written
 * with them. The two files are replaced one after the other; a kill between the renames
 * leaves a pair that does not belong together, which lor2c then refuses to read.
 */
export const PEFT_CONFIG_SHA = 'adapter_config_sha256';
/** The prefix PEFT's PeftModel puts before every module path. */
export const PEFT_PREFIX = 'base_model.model.';

/** One lor2c parameter and the PEFT tensor holding it. */
export interface PeftTensor {
  /** lor2c's parameter name (manifest). */
  parameter: string;
  /** PEFT's tensor name. */
  peft: string;
  /** PEFT's shape (lor2c's, reversed when `transpose`). */
  shape: number[];
  /** lor2c stores the 2-D value as the transpose of PEFT's (a MatMul weight [in, out] vs torch's [out, in]). */
  transpose: boolean;
}

export interface PeftLoraTarget {
  /** lor2c's LoRA target id (e.g. 'b0.q'). */
  target: string;
  /** The torch module path (e.g. 'encoder.layer.0.attention.self.query'). */
  module: string;
  rank: number;
  alpha: number;
}

export interface PeftLayout {
  tensors: PeftTensor[];
  lora: PeftLoraTarget[];
  /** Module paths of the trained original weights (PEFT's modules_to_save). */
  modulesToSave: string[];
}

/** A torch module path: dotted identifiers (digits allowed for list indices). */
const MODULE_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

/** The PEFT layout of artifacts DIR's parameters, or a UserError listing every parameter that has none. */
export function peftLayout(dir: string, manifest: Manifest): PeftLayout {
  const lor2cModules = [...new Set(manifest.parameters.filter((p) => p.role === 'lor2c.A' || p.role === 'lor2c.B').map((p) => p.module))];
  if (lor2cModules.length > 0) {
    throw new UserError(
      `the adapter has LoR2C modules (${lor2cModules.join(', ')}), which PEFT has no counterpart for: a PEFT LoRA adapter cannot hold them`,
      'export it in lor2c\'s own format with --adapter FILE.safetensors, or --merged FILE.onnx for one standalone model',
    );
  }
  const graph = readModelGraph(join(dir, manifest.graphs.infer.file));
  // The infer graph feeds each parameter through an input of its own.
  const inputOf = new Map(manifest.graphs.infer.inputs.filter((i) => i.role === 'param' && i.of).map((i) => [i.of!, i.name]));
  const valueOf = (name: string) => inputOf.get(name) ?? name;
  // Built once: time stays linear in the graph for any number of trained weights.
  const consumers = graph.consumers();
  const producers = graph.producers();
  const problems: string[] = [];
  const tensors: PeftTensor[] = [];
  const lora: PeftLoraTarget[] = [];
  const modulesToSave = new Set<string>();

  const targets = new Map<string, { A?: { name: string; shape: number[] }; B?: { name: string; shape: number[] } }>();
  for (const p of manifest.parameters) {
    if (p.role !== 'lora.A' && p.role !== 'lora.B') continue;
    const t = targets.get(p.module) ?? {};
    t[p.role === 'lora.A' ? 'A' : 'B'] = { name: p.name, shape: p.shape };
    targets.set(p.module, t);
  }
  for (const [target, { A, B }] of targets) {
    if (!A || !B) {
      problems.push(`LoRA ${target}: the manifest lists only one of its A and B`);
      continue;
    }
    const path = traceLoraPath(graph, valueOf(A.name), valueOf(B.name));
    if (typeof path === 'string') {
      problems.push(`LoRA ${target}: ${path}; PEFT's LoRA adapts one Linear module, which this is not`);
      continue;
    }
    const module = weightModule(graph, producers, path.weight, `LoRA ${target}`);
    if (typeof module !== 'string') {
      problems.push(module.problem);
      continue;
    }
    const rank = A.shape[0]!;
    lora.push({ target, module, rank, alpha: path.scale * rank });
    tensors.push({ parameter: A.name, peft: `${PEFT_PREFIX}${module}.lora_A.weight`, shape: [...A.shape], transpose: false });
    tensors.push({ parameter: B.name, peft: `${PEFT_PREFIX}${module}.lora_B.weight`, shape: [...B.shape], transpose: false });
  }
  for (const p of manifest.parameters) {
    if (p.role !== 'extra') continue;
    const cut = p.name.lastIndexOf('.');
    if (cut <= 0 || !MODULE_PATH.test(p.name)) {
      problems.push(`trained weight '${p.name}': its name is not a torch module path plus a parameter (e.g. classifier.weight), so PEFT's modules_to_save cannot name it`);
      continue;
    }
    const transpose = linearOrientation(consumers, valueOf(p.name), p.shape);
    if (typeof transpose !== 'boolean') {
      problems.push(`trained weight '${p.name}': ${transpose.problem}`);
      continue;
    }
    modulesToSave.add(p.name.slice(0, cut));
    tensors.push({ parameter: p.name, peft: `${PEFT_PREFIX}${p.name}`, shape: transpose ? [...p.shape].reverse() : [...p.shape], transpose });
  }
  if (problems.length > 0) {
    throw new UserError(
      `these parameters of ${dir} have no PEFT LoRA name:\n  ${problems.join('\n  ')}`,
      'PEFT names tensors by torch module path, which lor2c reads from the weight initializer\'s name: export the base model from torch so its weights keep their module names (e.g. encoder.layer.0.attention.self.query.weight, not onnx::MatMul_123), or rename those initializers, and compile again; or export in lor2c\'s own format with --adapter',
    );
  }
  return { tensors, lora, modulesToSave: [...modulesToSave] };
}

/** The module path of a projection's weight, from its initializer name. */
function weightModule(graph: Graph, producers: ReadonlyMap<string, Node>, weight: string, what: string): string | { problem: string } {
  if (!graph.initializers.has(weight)) {
    const producer = producers.get(weight);
    return { problem: `${what}: its projection reads '${weight}', ${producer ? `computed by a ${producer.opType} node` : 'a graph input'}, not a weight initializer (an export whose weight transposes were not folded), so no module path names it` };
  }
  if (!weight.endsWith('.weight') || !MODULE_PATH.test(weight)) {
    return { problem: `${what}: its weight '${weight}' does not name a torch module (expected <module path>.weight)` };
  }
  return weight.slice(0, -'.weight'.length);
}

/**
 * Whether a trained original weight is stored transposed relative to torch: a 2-D weight read
 * as x W by MatMul (or Gemm without transB) is [in, out], torch's Linear holds [out, in]. A
 * 1-D one, an embedding table read by Gather, or a Gemm transB=1 weight is as torch holds it.
 */
function linearOrientation(consumers: ReadonlyMap<string, Node[]>, value: string, shape: readonly number[]): boolean | { problem: string } {
  if (shape.length !== 2) return false;
  const readers = consumers.get(value) ?? [];
  const ways = new Set(readers.map((n) => {
    if (n.domain !== '') return 'other';
    if (n.opType === 'MatMul' && n.inputs[1] === value && n.inputs[0] !== value) return 'transposed';
    if (n.opType === 'Gemm' && n.inputs[1] === value && n.inputs[0] !== value) return attrInt(n, 'transB', 0) ? 'torch' : 'transposed';
    if (n.opType === 'Gather' && n.inputs[0] === value) return 'torch';
    return 'other';
  }));
  if (ways.size === 1 && ways.has('transposed')) return true;
  if (ways.size === 1 && ways.has('torch')) return false;
  return { problem: `read by ${readers.map((n) => n.opType).join(', ') || 'nothing'}, so its torch orientation is not known (lor2c maps a MatMul / Gemm weight or a Gather table)` };
}

/** A row-major [rows, cols] matrix transposed (PEFT and torch orient some weights the other way). */
export function transpose2d(data: Float32Array, shape: readonly number[]): Float32Array {
  const [rows, cols] = shape as [number, number];
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!;
  return out;
}
