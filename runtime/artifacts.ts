/**
 * Loading an artifacts directory (manifest.json + graphs + adapter.safetensors) from disk; the
 * checks themselves are in artifacts-parse.ts, shared with the browser.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../contract/errors.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import type { Manifest } from '../contract/manifest.ts';
import { finishInterruptedUpdate, MANIFEST_FILE } from '../contract/artifacts-folder.ts';
import { checkParameterSet, decodeParameters, parseManifest } from './artifacts-parse.ts';
import type { Float32Tensor } from './checkpoint.ts';

export { checkParameterSet };

export function readManifest(dir: string): Manifest {
  // A compile killed after its commit point left the new artifacts to be moved into place.
  finishInterruptedUpdate(dir);
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) throw new UserError(`${dir} is not an artifacts directory: manifest.json is missing`, 'run `lor2c compile` to produce one');
  return parseManifest(readRegularFile(path, 'manifest').toString('utf8'), path);
}

/** Reads parameter values (float32) from a safetensors file and checks them against the manifest. */
export function readParameterFile(manifest: Manifest, path: string): Map<string, Float32Tensor> {
  return decodeParameters(manifest, readRegularFile(path, 'safetensors file'), path);
}
