/**
 * The files of one checkpoint as bytes: what checkpoint.ts writes into a checkpoint directory
 * and what a page offers as downloads. Pure, so both write the same bytes.
 */
import { encodeSafetensors, float32Entry, type SafetensorsTensor } from '../contract/safetensors.ts';
import type { Checkpoint, CheckpointInfo, Float32Tensor } from './checkpoint.ts';

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
