/**
 * Symbolic dimension arithmetic. A Dim is a number or a string; strings are symbols ('batch')
 * or polynomial expressions over symbols with integer coefficients ('seq+1', '2*seq',
 * 'batch*seq'). Expressions are kept in one canonical spelling so two computations of the
 * same size compare equal as strings: (seq+1)-1 is 'seq', batch*seq*768/768 is 'batch*seq'.
 * A string that does not parse as such an expression (a dim_param like 'batch size') is one
 * opaque symbol. Division that is not exact has no polynomial form: callers get undefined
 * and mint a fresh symbol instead (never a wrong number).
 */
export type Dim = number | string;

/** monomial key (symbols sorted, joined by '*'; '' for the constant term) -> coefficient */
type Poly = Map<string, number>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_.:]*$/;

function tokenize(s: string): string[] | undefined {
  const tokens: string[] = [];
  const re = /\s*(\d+|[A-Za-z_][A-Za-z0-9_.:]*|[-+*()])/y;
  let pos = 0;
  while (pos < s.length) {
    if (/^\s*$/.test(s.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    tokens.push(m[1]!);
    pos = re.lastIndex;
  }
  return tokens;
}

function parseExpr(s: string): Poly | undefined {
  const tokens = tokenize(s);
  if (!tokens || tokens.length === 0) return undefined;
  let i = 0;
  const peek = () => tokens[i];
  const expr = (): Poly | undefined => {
    let acc = term();
    while (acc && (peek() === '+' || peek() === '-')) {
      const op = tokens[i++];
      const rhs = term();
      if (!rhs) return undefined;
      acc = op === '+' ? polyAdd(acc, rhs) : polyAdd(acc, polyScale(rhs, -1));
    }
    return acc;
  };
  const term = (): Poly | undefined => {
    let acc = factor();
    while (acc && peek() === '*') {
      i++;
      const rhs = factor();
      if (!rhs) return undefined;
      acc = polyMul(acc, rhs);
    }
    return acc;
  };
  const factor = (): Poly | undefined => {
    const t = tokens[i++];
    if (t === undefined) return undefined;
    if (t === '-') {
      const f = factor();
      return f && polyScale(f, -1);
    }
    if (t === '(') {
      const e = expr();
      if (tokens[i++] !== ')') return undefined;
      return e;
    }
    if (/^\d+$/.test(t)) return new Map([['', Number(t)]]);
    if (IDENT.test(t)) return new Map([[t, 1]]);
    return undefined;
  };
  const result = expr();
  return result && i === tokens.length ? result : undefined;
}

function toPoly(d: Dim): Poly {
  if (typeof d === 'number') return new Map([['', d]]);
  return parseExpr(d) ?? new Map([[`${d}`, 1]]);
}

function polyAdd(a: Poly, b: Poly): Poly {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v);
  for (const [k, v] of out) if (v === 0) out.delete(k);
  return out;
}

function polyScale(a: Poly, c: number): Poly {
  const out: Poly = new Map();
  if (c !== 0) for (const [k, v] of a) out.set(k, v * c);
  return out;
}

function monoMul(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return [...a.split('*'), ...b.split('*')].sort().join('*');
}

function polyMul(a: Poly, b: Poly): Poly {
  let out: Poly = new Map();
  for (const [ka, va] of a) for (const [kb, vb] of b) out = polyAdd(out, new Map([[monoMul(ka, kb), va * vb]]));
  return out;
}

/** a / b when b is a single term that divides every term of a exactly. */
function polyDivExact(a: Poly, b: Poly): Poly | undefined {
  if (b.size !== 1) return undefined;
  const [[bk, bv]] = [...b];
  if (bv === 0) return undefined;
  const bSyms = bk === '' ? [] : bk.split('*');
  const out: Poly = new Map();
  for (const [k, v] of a) {
    if (v % bv !== 0) return undefined;
    const syms = k === '' ? [] : k.split('*');
    for (const s of bSyms) {
      const at = syms.indexOf(s);
      if (at < 0) return undefined;
      syms.splice(at, 1);
    }
    out.set(syms.join('*'), v / bv);
  }
  return out;
}

function fromPoly(p: Poly): Dim {
  if (p.size === 0) return 0;
  if (p.size === 1 && p.has('')) return p.get('')!;
  const keys = [...p.keys()].sort((x, y) => {
    if (x === '') return 1;
    if (y === '') return -1;
    const dx = x.split('*').length, dy = y.split('*').length;
    return dy - dx || (x < y ? -1 : x > y ? 1 : 0);
  });
  let s = '';
  for (const k of keys) {
    const c = p.get(k)!;
    const neg = c < 0;
    const mag = Math.abs(c);
    const body = k === '' ? String(mag) : mag === 1 ? k : `${mag}*${k}`;
    s += s === '' ? (neg ? `-${body}` : body) : neg ? `-${body}` : `+${body}`;
  }
  return s;
}

/** The canonical spelling of a dim ('seq + 1' -> 'seq+1'; '(7)' -> 7). Opaque symbols are unchanged. */
export function normalizeDim(d: Dim): Dim {
  if (typeof d === 'number') return d;
  const p = parseExpr(d);
  return p ? fromPoly(p) : d;
}

export function dimAdd(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  return fromPoly(polyAdd(toPoly(a), toPoly(b)));
}

export function dimSub(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return fromPoly(polyAdd(toPoly(a), polyScale(toPoly(b), -1)));
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  return fromPoly(polyMul(toPoly(a), toPoly(b)));
}

/** Exact division, or undefined when the quotient has no polynomial form (or b is 0). */
export function dimDivExact(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === 'number' && typeof b === 'number') return b !== 0 && a % b === 0 ? a / b : undefined;
  const q = polyDivExact(toPoly(a), toPoly(b));
  return q && fromPoly(q);
}

/** Floor division: exact for numbers, and for expressions that divide exactly; undefined otherwise. */
export function dimFloorDiv(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === 'number' && typeof b === 'number') return b !== 0 ? Math.floor(a / b) : undefined;
  return dimDivExact(a, b);
}

export function dimProduct(dims: readonly Dim[]): Dim {
  let p: Dim = 1;
  for (const d of dims) p = dimMul(p, d);
  return p;
}

/**
 * The least and greatest values a dim can take, from the fact that every symbol stands for a
 * size (a non-negative integer), as are products of symbols: 'seq+1' is at least 1, '-batch'
 * at most 0, 'seq-1' has no bound inference can use (seq may be 0). An unbounded side is undefined.
 */
export function dimBounds(d: Dim): { min?: number; max?: number } {
  if (typeof d === 'number') return { min: d, max: d };
  const p = toPoly(d);
  const constant = p.get('') ?? 0;
  let anyPositive = false, anyNegative = false;
  for (const [k, c] of p) {
    if (k === '') continue;
    if (c > 0) anyPositive = true;
    else if (c < 0) anyNegative = true;
  }
  return { min: anyNegative ? undefined : constant, max: anyPositive ? undefined : constant };
}

/** The bounds of a - b (see dimBounds): what comparisons of two dims can decide. */
export function dimDifferenceBounds(a: Dim, b: Dim): { min?: number; max?: number } {
  if (typeof a === 'number' && typeof b === 'number') return { min: a - b, max: a - b };
  return dimBounds(fromPoly(polyAdd(toPoly(a), polyScale(toPoly(b), -1))));
}

/**
 * true / false where the two sizes are provably equal / different, undefined where unknown.
 * Symbols are sizes, so 'batch' is never -1 (what torch's exports compare shape vectors with)
 * and 'seq+1' never 0.
 */
export function dimEquals(a: Dim, b: Dim): boolean | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  const { min, max } = dimDifferenceBounds(a, b);
  if (min === 0 && max === 0) return true;
  if ((min !== undefined && min > 0) || (max !== undefined && max < 0)) return false;
  return undefined;
}

/** Whether two shapes are provably the same: the same rank, and every dim provably equal. */
export function shapesEqual(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => dimEquals(d, b[i]!) === true);
}

/** A dim's value when every symbol in it is bound (used to check symbolic results against real runs). */
export function evaluateDim(d: Dim, bindings: ReadonlyMap<string, number>): number | undefined {
  if (typeof d === 'number') return d;
  let total = 0;
  for (const [k, c] of toPoly(d)) {
    let v = c;
    if (k !== '') {
      for (const s of k.split('*')) {
        const b = bindings.get(s) ?? evaluateBroadcast(s, bindings);
        if (b === undefined) return undefined;
        v *= b;
      }
    }
    total += v;
  }
  return total;
}

/** 'max(a,b)' is what broadcasting two unrelated symbols gives: a if b is 1, b if a is 1, else both equal. */
function evaluateBroadcast(atom: string, bindings: ReadonlyMap<string, number>): number | undefined {
  if (!atom.startsWith('max(') || !atom.endsWith(')')) return undefined;
  const inner = atom.slice(4, -1);
  let depth = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === '(') depth++;
    else if (inner[i] === ')') depth--;
    else if (inner[i] === ',' && depth === 0) {
      const a = evaluateDim(inner.slice(0, i), bindings);
      const b = evaluateDim(inner.slice(i + 1), bindings);
      if (a === undefined || b === undefined) return undefined;
      if (a === 1) return b;
      if (b === 1 || a === b) return a;
      return undefined;
    }
  }
  return undefined;
}

/** Whether d is one symbol ('batch'), not a number or an expression over symbols ('seq+1'). */
export function isPlainSymbol(d: Dim): d is string {
  return typeof d === 'string' && (IDENT.test(d) || parseExpr(d) === undefined);
}

export function isConcrete(shape: readonly Dim[] | undefined): shape is number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}
