/**
 * The files of one checkpoint as bytes: what checkpoint.ts writes into a checkpoint directory
 * and reads back, and what a page offers as downloads and resumes from. Pure, so both write
 * and read the same bytes.
 */
import { UserError } from '../contract/errors.ts';
import { decodeSafetensors, encodeSafetensors, float32Entry, float32Values, type SafetensorsTensor } from '../contract/safetensors.ts';
import type { Checkpoint, CheckpointInfo, Float32Tensor } from './checkpoint.ts';
import { validateState } from './checkpoint-state.ts';

export const PARAMS_FILE = 'params.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'state.json';

export interface StateFile extends CheckpointInfo {
  format: 'lor2c-checkpoint';
  formatVersion: 1;
  written: string;
}

export interface NamedFile {
  name: string;
  bytes: Uint8Array;
}

function toEntries(tensors: Map<string, Float32Tensor>): Map<string, SafetensorsTensor> {
  return new Map([...tensors].map(([k, t]) => [k, float32Entry(t.shape, t.data)]));
}

/**
 * params.safetensors, optimizer.safetensors and state.json of `ckpt`, to be stored under the
 * directory name `name`; `best` marks it the best checkpoint (state.best.checkpoint names it).
 */
export function checkpointFiles(ckpt: Checkpoint, name: string, best: boolean): NamedFile[] {
  const { parameters, optimizer, ...info } = ckpt;
  const state: StateFile = { format: 'lor2c-checkpoint', formatVersion: 1, written: new Date().toISOString(), ...info };
  if (best && state.best) state.best = { ...state.best, checkpoint: name };
  return [
    { name: PARAMS_FILE, bytes: encodeSafetensors(toEntries(parameters)) },
    { name: OPTIMIZER_FILE, bytes: encodeSafetensors(toEntries(optimizer)) },
    { name: STATE_FILE, bytes: new TextEncoder().encode(JSON.stringify(state, null, 1) + '\n') },
  ];
}

/**
 * A checkpoint from its files' bytes: `read(name)` gives a file of the checkpoint `dir`, or
 * throws when it cannot be read (its message is kept). state.json is validated field by field.
 */
export function decodeCheckpoint(dir: string, read: (file: string) => Uint8Array): Checkpoint {
  const fail = (what: string): never => {
    throw new UserError(`${dir}: not a valid lor2c checkpoint: ${what}`);
  };
  const where = `${dir}/${STATE_FILE}`;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(read(STATE_FILE)));
  } catch (e) {
    return fail(`${STATE_FILE} is unreadable (${(e as Error).message})`);
  }
  const state = validateState(raw, where);
  const load = (file: string): Map<string, Float32Tensor> => {
    let bytes: Uint8Array;
    try {
      bytes = read(file);
    } catch (e) {
      return fail(`${file} is missing (${(e as Error).message})`);
    }
    const contents = decodeSafetensors(bytes, `${dir}/${file}`);
    return new Map([...contents.tensors].map(([k, t]) => [k, { shape: t.shape, data: float32Values(t, k) }]));
  };
  const parameters = load(PARAMS_FILE);
  const optimizer = load(OPTIMIZER_FILE);
  const { format: _f, formatVersion: _v, written: _w, ...info } = state;
  return { ...info, parameters, optimizer };
}
