/**
 * Where a dataset's lines come from: a file read in chunks (jsonl.ts, Node) or bytes in
 * memory (a file a page was given). Both follow the same rules, so a dataset holds the same
 * examples whichever way it was read: lines end at '\n', a trailing '\r' and a leading UTF-8
 * byte order mark are stripped, blank lines are skipped, text must be valid UTF-8.
 */
import { UserError } from '../../contract/errors.ts';

/** A single line longer than this is refused rather than buffered without bound. */
export const MAX_LINE_BYTES = 256 << 20;

export interface LineRef {
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Byte length without the line terminator. */
  length: number;
  /** 1-based line number, for messages. */
  line: number;
}

export interface LineSource {
  /** The file's name in messages. */
  readonly name: string;
  /** One pass over the lines: `visit` gets every non-blank line's text and position. */
  scan(visit: (text: string, ref: LineRef) => void): void;
  /** A line found by scan, read back. */
  read(ref: LineRef): string;
  close(): void;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeLine(bytes: Uint8Array, name: string, line: number): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new UserError(`${name}:${line}: the line is not valid UTF-8`);
  }
}

/** Position of one line given its bytes (terminator excluded) starting at `offset`: strips a leading BOM (first line) and a trailing '\r'. */
export function lineRef(bytes: Uint8Array, offset: number, line: number): { ref: LineRef; bytes: Uint8Array } {
  let start = 0;
  if (offset === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  let length = bytes.length - start;
  if (length > 0 && bytes[start + length - 1] === 0x0d) length--;
  return { ref: { offset: offset + start, length, line }, bytes: bytes.subarray(start, start + length) };
}

/** Lines of bytes held in memory (e.g. a File a page read). */
export class BytesLines implements LineSource {
  constructor(readonly name: string, private readonly bytes: Uint8Array) {}

  scan(visit: (text: string, ref: LineRef) => void): void {
    const b = this.bytes;
    let start = 0;
    for (let line = 1; start < b.length; line++) {
      let end = b.indexOf(0x0a, start);
      if (end < 0) end = b.length;
      if (end - start > MAX_LINE_BYTES) throw new UserError(`${this.name}:${line}: the line is longer than ${MAX_LINE_BYTES} bytes`);
      const { ref, bytes } = lineRef(b.subarray(start, end), start, line);
      const text = decodeLine(bytes, this.name, line);
      if (text.trim() !== '') visit(text, ref);
      start = end + 1;
    }
  }

  read(ref: LineRef): string {
    return decodeLine(this.bytes.subarray(ref.offset, ref.offset + ref.length), this.name, ref.line);
  }

  close(): void {}
}
