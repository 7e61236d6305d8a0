/**
 * Reading a .lor2c file from disk, bounded: a file too large to hold a spec within
 * MAX_SPEC_LENGTH characters is refused without reading it into memory.
 */
import { UserError } from '../contract/index.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import { MAX_SPEC_LENGTH } from '../dsl/index.ts';

/** UTF-8 takes at most 3 bytes per UTF-16 code unit (4 for a surrogate pair, which counts 2): a spec within the limit has at most this many bytes. */
export const MAX_SPEC_BYTES = 3 * MAX_SPEC_LENGTH;

/** The text of a spec file; a UserError naming the file when it cannot be read, is not a regular file, or is far too large. */
export function readSpecFile(path: string): string {
  // A FIFO or a device is refused by name rather than read (it could block or never end).
  return readRegularFile(path, 'spec', {
    maxBytes: MAX_SPEC_BYTES,
    tooLarge: (size) => new UserError(`${path}:1:1: the spec is ${size.toLocaleString('en-US')} bytes; the limit is ${MAX_SPEC_LENGTH.toLocaleString('en-US')} characters`, 'a spec is a few settings; is this the right file?'),
  }).toString('utf8');
}
