/**
 * External data files held in memory by location (a page's picked files), for decode.ts. A
 * location must name one of them exactly: a path that climbs out (`..`, absolute) is refused
 * as it is for files beside a model.
 */
import { UserError } from '../../contract/errors.ts';
import type { ExternalData } from './decode.ts';

export function memoryData(files: ReadonlyMap<string, Uint8Array>): ExternalData {
  return {
    open(location, name) {
      if (location.startsWith('/') || location.split(/[\\/]/).includes('..') || /^[a-zA-Z]:/.test(location)) {
        throw new UserError(`${name}: external data location '${location}' points outside the model's folder`, 'external data files must sit in the model folder or below it');
      }
      const bytes = files.get(location.replace(/^\.\//, ''));
      if (!bytes) throw new UserError(`${name}: external data file '${location}' was not given`, `give '${location}' together with the model`);
      return { file: location, size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
    },
    close() {},
  };
}
