/** The top level of a spec: the model, how its blocks are found, the sections, the target. */
import type { Plan } from '../../../contract/plan.ts';
import { assign } from '../reader.ts';
import { defaultsOf, filePath, section, settingsOf } from '../schema.ts';
import { SectionNames } from './adapter.ts';
import { readBlocksDiscovery } from './blocks.ts';
import { readInject } from './inject.ts';
import { readLor2c } from './lor2c.ts';
import { readLora } from './lora.ts';
import { readMerge } from './merge.ts';
import { readShare } from './share.ts';
import { readTarget } from './target.ts';
import { readText } from './text.ts';
import { defaultTrain, readTrain } from './train/train.ts';

/** The spec as read so far: the plan's sections, and what reading them needs to remember. */
export type TopDraft = Omit<Plan, 'planVersion' | 'modules'> & {
  /** `epochs` or `steps` was written in `train { }`, so lengths derived from it are meaningful. */
  wroteLength: boolean;
  /** The names of the `lor2c` and `lora` sections, each section's its own. */
  lor2cNames: SectionNames;
  loraNames: SectionNames;
};

const s = settingsOf<TopDraft>();

export const TOP = section<TopDraft>('the top level', {
  model: s.value('model', filePath(), { doc: 'the ONNX model to adapt, relative to the spec (`--model` overrides it)', what: 'the model path', flag: 'model' }),
  blocks: s.custom({ doc: 'how the blocks are found: `auto`, `pattern "...{i}..."` or `boundaries [...]`', field: 'blocks', default: { kind: 'auto' }, expected: '`auto`, `pattern "...{i}..."` or `boundaries [...]`', read: (r, e, top) => assign(readBlocksDiscovery(r, e), (b) => (top.blocks = b)) }),
  lor2c: s.custom({ doc: 'a LoR2C section (repeatable, optionally named)', field: 'lor2c', default: [], repeat: true, body: 'optional', read: (r, e, top) => top.lor2c.push(readLor2c(r, e, top.lor2cNames)) }),
  lora: s.custom({ doc: 'a LoRA section (repeatable, optionally named)', field: 'lora', default: [], repeat: true, body: 'optional', read: (r, e, top) => top.lora.push(readLora(r, e, top.loraNames)) }),
  share: s.custom({ doc: 'modules that share A and/or B (repeatable)', field: 'share', default: [], repeat: true, read: (r, e, top) => assign(readShare(r, e), (g) => top.share.push(g)) }),
  merge: s.custom({ doc: 'static and SFS-driven merges', field: 'merge', body: 'required', read: (r, e, top) => (top.merge = readMerge(r, e)) }),
  inject: s.custom({ doc: 'SFS-driven injection of LoRA', field: 'inject', body: 'optional', read: (r, e, top) => assign(readInject(r, e), (i) => (top.inject = i)) }),
  train: s.custom({
    doc: 'task and training loop',
    field: 'train',
    default: defaultTrain(),
    body: 'required',
    // Not repeatable, so read at most once: it replaces the defaults whole.
    read: (r, e, top) => {
      const read = readTrain(r, e);
      top.train = read.train;
      top.wroteLength = read.wroteLength;
    },
  }),
  target: s.custom({ doc: 'where training runs: `cpu`, `cuda` or `cuda fallback cpu`', field: 'target', default: { device: 'cpu' }, expected: '`cpu` or `cuda`', read: (r, e, top) => assign(readTarget(r, e), (t) => (top.target = t)) }),
  text: s.custom({ doc: 'how raw-text data becomes model inputs', field: 'text', body: 'required', read: (r, e, top) => assign(readText(r, e), (t) => (top.text = t)) }),
});

/** A spec with nothing written yet. */
export function emptyTop(): TopDraft {
  return { ...(defaultsOf(TOP) as TopDraft), wroteLength: false, lor2cNames: new SectionNames(), loraNames: new SectionNames() };
}
