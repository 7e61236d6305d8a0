/** safetensors files on disk (Node): the codec of safetensors.ts plus reading and atomic writing. */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.ts';
import { UserError } from './errors.ts';
import { decodeSafetensors, encodeSafetensors, type SafetensorsContents, type TensorEntries } from './safetensors.ts';

/** Reads and validates a safetensors file. */
export function readSafetensors(path: string): SafetensorsContents {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UserError(`cannot read safetensors file ${path}: ${(e as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}

/** Writes a safetensors file atomically (temporary file, fsync, rename). */
export function writeSafetensors(path: string, tensors: TensorEntries, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
