/** safetensors files on disk (Node): the codec of safetensors.ts plus reading and atomic writing. */
import { writeFileAtomic } from './atomic.ts';
import { readRegularFile } from './regular-file.ts';
import { decodeSafetensors, encodeSafetensors, type SafetensorsContents, type TensorEntries } from './safetensors.ts';

/** Reads and validates a safetensors file. */
export function readSafetensors(path: string): SafetensorsContents {
  return decodeSafetensors(readRegularFile(path, 'safetensors file'), path);
}

/** Writes a safetensors file atomically (temporary file, fsync, rename). */
export function writeSafetensors(path: string, tensors: TensorEntries, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
