/**
 * A short preview of a parsed JSON value for messages ("got [[1,2],[3,..."): at most `limit`
 * characters, built by walking only as much of the value as is shown and never deeper than a
 * few levels, so a value nested thousands deep or megabytes long (in a data row, a tampered
 * checkpoint) costs no stack and no time. JSON.stringify would recurse through all of it.
 */
const MAX_DEPTH = 16;

export function previewValue(v: unknown, limit = 40): string {
  let out = '';
  const full = () => out.length > limit;
  const walk = (x: unknown, depth: number): void => {
    if (full()) return;
    if (Array.isArray(x)) {
      if (depth >= MAX_DEPTH) return void (out += '[...]');
      out += '[';
      for (let i = 0; i < x.length && !full(); i++) {
        if (i > 0) out += ',';
        walk(x[i], depth + 1);
      }
      out += ']';
    } else if (x !== null && typeof x === 'object') {
      if (depth >= MAX_DEPTH) return void (out += '{...}');
      out += '{';
      let first = true;
      for (const key in x) {
        if (full()) break;
        if (!Object.hasOwn(x, key)) continue;
        out += `${first ? '' : ','}${JSON.stringify(key.slice(0, limit))}:`;
        first = false;
        walk((x as Record<string, unknown>)[key], depth + 1);
      }
      out += '}';
    } else if (typeof x === 'string') {
      out += JSON.stringify(x.slice(0, limit + 1));
    } else {
      out += String(x);
    }
  };
  walk(v, 0);
  return out.length > limit ? `${out.slice(0, limit - 3)}...` : out;
}
