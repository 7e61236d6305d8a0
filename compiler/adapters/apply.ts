/**
 * Applies a resolved adapter structure to a model: LoRA on projections, then one LoR2C path per
 * module (docs/method.md sections 1 and 2), with parameters as new initializers holding their
 * initial values. Used for the train, eval and infer graphs alike; the train graph builder
 * later turns the parameters into graph inputs.
 */
import type { InitKind, ProjectionTarget, ResolvedLoraSite } from '../../dsl/index.ts';
import type { AdapterStructure } from '../../contract/structure.ts';
import { UserError } from '../../contract/errors.ts';
import { GraphBuilder } from '../graph/builder.ts';
import type { Model } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import { makeTensor } from '../onnx/tensor.ts';
import type { ParameterInfo } from '../../contract/manifest.ts';
import { initDown } from './init.ts';
import { addLowRankPath } from './low-rank.ts';
import { factorParameterName, loraNodeId, loraParameterName, loraTargetId } from './naming.ts';
import type { AdapterSites, ProjectionSite } from './sites.ts';

export type { AdapterStructure };

export interface ApplyOptions {
  /** Seeds initial values (each parameter by its own name). */
  seed: number;
}

export interface AppliedAdapters {
  parameters: ParameterInfo[];
  /** Initial values, by parameter name. */
  initial: Map<string, Float32Array>;
}

interface ParamSpec {
  name: string;
  rows: number;
  cols: number;
  module: string;
  role: ParameterInfo['role'];
  init: 'zero' | InitKind;
  /** fan-in for the down projection's init. */
  fanIn: number;
  rank: number;
}

export function applyAdapters(model: Model, sites: AdapterSites, structure: AdapterStructure, opts: ApplyOptions): AppliedAdapters {
  const graph = model.graph;
  const b = new GraphBuilder(graph, 'lor2c/');
  const specs = new Map<string, ParamSpec>();
  const want = (p: ParamSpec) => {
    // A rank beyond the width it factors adds parameters (and memory) but no capacity; a huge
    // one would otherwise fail allocating the initial values.
    const width = Math.min(p.role.endsWith('.A') ? p.cols : p.rows, p.fanIn || Infinity);
    if (p.rank > width) {
      throw new UserError(`rank ${p.rank} of ${p.module} is larger than the width ${width} it factors (parameter '${p.name}')`, `use a rank of at most ${width}`);
    }
    const known = specs.get(p.name);
    if (known && (known.rows !== p.rows || known.cols !== p.cols)) {
      throw new UserError(`shared parameter '${p.name}' would need shape [${p.rows}, ${p.cols}] for ${p.module} but is [${known.rows}, ${known.cols}] for ${known.module}`, 'share only between modules of the same rank and width');
    }
    if (!known) specs.set(p.name, p);
    return p.name;
  };
  const opset = model.opset('') ?? 17;

  // LoRA first: it changes values inside blocks, never the stream tensors LoR2C reads.
  for (const site of structure.lora) {
    for (const proj of loraTargets(sites, site)) {
      const id = loraId(proj);
      const A = want({ name: loraParameterName(id, 'A'), rows: site.rank, cols: proj.inDim, module: id, role: 'lora.A', init: site.init, fanIn: proj.inDim, rank: site.rank });
      const B = want({ name: loraParameterName(id, 'B'), rows: proj.outDim, cols: site.rank, module: id, role: 'lora.B', init: 'zero', fanIn: 0, rank: site.rank });
      addLowRankPath({ graph, b, opset }, { x: proj.input, y: proj.output, A, B, rank: site.rank, alpha: site.alpha, dropout: site.dropout, ...(proj.columns ? { columns: { columns: proj.columns, width: proj.fusedDim! } } : {}) });
    }
  }

  // Each stream value as the paths added so far left it: a module reads the h_s earlier modules wrote.
  const current = new Map<string, string>();
  const now = (h: string) => current.get(h) ?? h;
  const d = sites.hidden;
  for (const m of [...structure.modules].sort((x, y) => x.span[0] - y.span[0])) {
    const [s, e] = m.span;
    const first = sites.blocks[s];
    const last = sites.blocks[e];
    if (!first || !last) throw new UserError(`LoR2C module ${m.id} covers blocks ${s}..${e} but the model has ${sites.blocks.length} blocks`);
    if (first.stack !== last.stack) {
      const stacks = [...new Set(sites.blocks.map((b) => b.stack))];
      const bounds = stacks.map((name) => {
        const indices = sites.blocks.flatMap((b, i) => (b.stack === name ? [i] : []));
        return `${name} ${indices[0]}..${indices[indices.length - 1]}`;
      });
      throw new UserError(`LoR2C module ${m.id} covers blocks ${s}..${e}, which start in the ${first.stack} stack and end in the ${last.stack}: a path stays within one residual stream`, `choose blocks within one stack (${bounds.join(', ')}); a run of selected blocks crossing a stack boundary needs \`span\` that divides each stack's part, or separate sections`);
    }
    const A = want({ name: factorParameterName(structure, m.id, 'A'), rows: m.rank, cols: d, module: m.id, role: 'lor2c.A', init: m.init, fanIn: d, rank: m.rank });
    const B = want({ name: factorParameterName(structure, m.id, 'B'), rows: d, cols: m.rank, module: m.id, role: 'lor2c.B', init: 'zero', fanIn: 0, rank: m.rank });
    current.set(last.output, addLowRankPath({ graph, b, opset }, { x: now(first.input), y: now(last.output), A, B, rank: m.rank, alpha: m.alpha, dropout: m.dropout }));
  }

  const parameters: ParameterInfo[] = [];
  const initial = new Map<string, Float32Array>();
  for (const p of specs.values()) {
    const values = p.init === 'zero' ? new Float32Array(p.rows * p.cols) : initDown(p.init, p.rows, p.fanIn, opts.seed, p.name);
    graph.initializers.set(p.name, makeTensor(p.name, DataType.FLOAT, [p.rows, p.cols], values));
    initial.set(p.name, values);
    parameters.push({ name: p.name, shape: [p.rows, p.cols], dtype: 'float32', module: p.module, role: p.role, lrScale: 1, weightDecay: true });
  }
  return { parameters, initial };
}

function loraId(p: ProjectionSite): string {
  return p.block !== undefined && p.role ? loraTargetId(p.block, p.role) : loraNodeId(p.node);
}

/** The projections a LoRA site targets; an unmatched target is an error naming what exists. */
function loraTargets(sites: AdapterSites, site: ResolvedLoraSite): ProjectionSite[] {
  const target: ProjectionTarget = site.target;
  if (target.kind === 'role') {
    if (site.block === undefined) throw new Error('internal error: a role target without a block');
    const found = sites.projections(site.block).filter((p) => p.role === target.role);
    const unproven = sites.projections(site.block).find((p) => p.partsUnproven !== undefined);
    if (found.length === 0 && unproven && ['q', 'k', 'v'].includes(target.role)) {
      throw new UserError(
        `LoRA section '${site.section}': block ${site.block} computes q, k and v with one fused projection '${unproven.node}', and which of its output columns are '${target.role}' could not be proven from the graph (${unproven.partsUnproven})`,
        `target the whole fused projection with \`on qkv\`, or name it by pattern; lor2c does not guess a column layout`,
      );
    }
    if (found.length === 0) {
      const roles = [...new Set(sites.projections(site.block).map((p) => p.role).filter(Boolean))].join(', ');
      // A role only one stack has (a decoder's cross_q): say which, and how to select it.
      const stacks = [...new Set(sites.blocks.filter((_, i) => sites.projections(i).some((p) => p.role === target.role)).map((b) => b.stack))];
      const here = sites.blocks[site.block]?.stack;
      const hint = stacks.length > 0 && here !== undefined && !stacks.includes(here)
        ? `'${target.role}' is a projection of the ${stacks.join(', ')} stack's blocks, not the ${here}'s: give it its own section, e.g. \`lora ${target.role} { on ${target.role}; blocks ${stacks[0]} }\``
        : 'target a role the block has, or name the projection by pattern';
      throw new UserError(`LoRA section '${site.section}': block ${site.block}${here && here !== 'main' ? ` (${here})` : ''} has no '${target.role}' projection (found: ${roles || 'none'})`, hint);
    }
    return found;
  }
  const regex = patternRegex(target.pattern, site.block);
  const found = sites.allProjections().filter((p) => !p.fusedPart && (regex.test(p.node) || regex.test(p.weight)));
  if (found.length === 0) throw new UserError(`LoRA section '${site.section}': pattern "${target.pattern}" matches no MatMul/Gemm projection or weight`, 'run `lor2c inspect MODEL` to see the projections');
  return found;
}

/** `*` = any run of characters, `{i}` = the block index; matched against the whole name. */
export function patternRegex(pattern: string, block?: number): RegExp {
  const parts = pattern.split(/(\*|\{i\})/).map((part) => {
    if (part === '*') return '.*';
    if (part === '{i}') return block === undefined ? '\\d+' : String(block);
    return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('')}$`);
}
