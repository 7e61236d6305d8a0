/**
 * JSONL files read without loading them whole: one streaming pass finds where every
 * non-blank line starts (and hands each line to a visitor, which is how the dataset validates
 * rows in the same pass); afterwards a line is read back by its byte offset.
 */
import { closeSync, readSync } from 'node:fs';
import { UserError } from '../../contract/errors.ts';
import { openRegularFile } from '../../contract/regular-file.ts';
import { decodeLine, MAX_LINE_BYTES, type LineRef, type LineSource } from './lines.ts';

const CHUNK = 1 << 20;
export { MAX_LINE_BYTES, type LineRef } from './lines.ts';

/**
 * Streams the file once, calling `visit` with every non-blank line's text and position.
 * A UTF-8 byte order mark and a trailing '\r' (CRLF files) are stripped.
 */
export function scanLines(path: string, visit: (text: string, ref: LineRef) => void): { size: number; mtimeMs: number } {
  const { fd, stat } = openRegularFile(path, 'data file');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let lineStart = 0;
    let position = 0;
    let line = 1;
    const finish = (tail: Buffer) => {
      let bytes = pending.length ? Buffer.concat([...pending, tail]) : tail;
      pending = [];
      pendingBytes = 0;
      let offset = lineStart;
      if (offset === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        bytes = bytes.subarray(3);
        offset = 3;
      }
      let length = bytes.length;
      if (length > 0 && bytes[length - 1] === 0x0d) length--;
      const text = decodeLine(bytes.subarray(0, length), path, line);
      if (text.trim() !== '') visit(text, { offset, length, line });
    };
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, position);
      if (n === 0) break;
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, from);
        if (nl < 0 || nl >= n) break;
        finish(chunk.subarray(from, nl));
        lineStart = position + nl + 1;
        line++;
        from = nl + 1;
      }
      if (from < n) {
        pending.push(Buffer.from(chunk.subarray(from, n)));
        pendingBytes += n - from;
        if (pendingBytes > MAX_LINE_BYTES) throw new UserError(`${path}:${line}: the line is longer than ${MAX_LINE_BYTES} bytes`);
      }
      position += n;
    }
    if (pendingBytes > 0) finish(Buffer.alloc(0));
    return { size: stat.size, mtimeMs: stat.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/** Random access to lines found by scanLines. Keeps one file descriptor open until close(). */
export class LineReader {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  read(ref: LineRef): string {
    this.fd ??= openRegularFile(this.path, 'data file').fd;
    const buf = Buffer.allocUnsafe(ref.length);
    let done = 0;
    while (done < ref.length) {
      const n = readSync(this.fd, buf, done, ref.length - done, ref.offset + done);
      if (n === 0) throw new UserError(`${this.path}:${ref.line}: the file ended early; it changed after it was indexed`, 'do not modify a data file while training on it');
      done += n;
    }
    return decodeLine(buf, this.path, ref.line);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** A JSONL file as a dataset's line source: streamed once by scan, lines read back by offset. */
export class FileLines implements LineSource {
  private readonly reader: LineReader;

  constructor(readonly name: string) {
    this.reader = new LineReader(name);
  }

  scan(visit: (text: string, ref: LineRef) => void): void {
    scanLines(this.name, visit);
  }

  read(ref: LineRef): string {
    return this.reader.read(ref);
  }

  close(): void {
    this.reader.close();
  }
}
