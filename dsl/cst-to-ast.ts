/**
 * Concrete syntax tree (chevrotain) -> typed AST (ast.ts).
 *
 * After error recovery the CST may lack children or hold tokens the parser invented
 * (`isInsertedInRecovery`, no position). Such pieces are dropped here: the AST holds only what
 * the user wrote, and every node's range points into the text.
 */
import type { CstElement, CstNode, IToken } from 'chevrotain';
import type { Block, CallValue, CommentNode, Item, LetStatement, ListValue, Setting, SpecFile, Value, ValueGroup, Word } from './ast.ts';
import type { LineIndex, SourceRange } from './diagnostics.ts';

function isToken(e: CstElement): e is IToken {
  return (e as IToken).image !== undefined;
}

function realToken(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && Number.isFinite(t.startOffset);
}

function tokens(node: CstNode, name: string): IToken[] {
  return ((node.children[name] ?? []) as CstElement[]).filter(isToken).filter(realToken);
}

function nodes(node: CstNode, name: string): CstNode[] {
  return ((node.children[name] ?? []) as CstElement[]).filter((e): e is CstNode => !isToken(e));
}

function unescapeString(raw: string): string {
  try {
    return JSON.parse(raw) as string;
  } catch {
    // Not valid JSON (e.g. `\q`): take the escaped character literally.
    return raw.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
  }
}

export class CstToAst {
  constructor(private readonly index: LineIndex) {}

  private tokenRange(t: IToken): SourceRange {
    return this.index.range(t.startOffset, t.image.length);
  }

  /** Covers every given range; undefined when there are none. */
  private cover(ranges: (SourceRange | undefined)[]): SourceRange | undefined {
    const present = ranges.filter((r): r is SourceRange => r !== undefined);
    if (present.length === 0) return undefined;
    return present.reduce((a, b) => this.index.span(a, b));
  }

  spec(cst: CstNode, comments: IToken[]): SpecFile {
    return {
      kind: 'spec',
      items: this.items(cst),
      comments: comments.filter(realToken).map((t): CommentNode => ({ kind: 'comment', text: t.image.replace(/\s+$/, ''), range: this.tokenRange(t) })),
      range: this.index.range(0, this.index.text.length),
    };
  }

  private items(parent: CstNode): Item[] {
    return nodes(parent, 'item')
      .map((n) => this.item(n))
      .filter((i): i is Item => i !== undefined)
      .sort((a, b) => a.range.offset - b.range.offset);
  }

  private item(node: CstNode): Item | undefined {
    const letNode = nodes(node, 'letStatement')[0];
    if (letNode) return this.letStatement(letNode);
    const setting = nodes(node, 'setting')[0];
    return setting ? this.setting(setting) : undefined;
  }

  private word(t: IToken): Word {
    return { kind: 'word', name: t.image, range: this.tokenRange(t) };
  }

  private letStatement(node: CstNode): LetStatement | undefined {
    const letToken = tokens(node, 'Let')[0];
    const name = tokens(node, 'Identifier')[0];
    const valueNode = nodes(node, 'value')[0];
    const value = valueNode ? this.value(valueNode) : undefined;
    if (!letToken || !name || !value) return undefined;
    return { kind: 'let', name: this.word(name), value, range: this.index.span(this.tokenRange(letToken), value.range) };
  }

  private setting(node: CstNode): Setting | undefined {
    const keyToken = tokens(node, 'Identifier')[0];
    if (!keyToken) return undefined;
    const key = this.word(keyToken);
    const groups = this.groups(nodes(node, 'group'));
    const blockNode = nodes(node, 'block')[0];
    const body = blockNode ? this.block(blockNode) : undefined;
    const range = this.cover([key.range, ...groups.map((g) => g.range), body?.range])!;
    return body ? { kind: 'setting', key, groups, body, range } : { kind: 'setting', key, groups, range };
  }

  private block(node: CstNode): Block | undefined {
    const open = tokens(node, 'LCurly')[0];
    if (!open) return undefined;
    const items = this.items(node);
    const close = tokens(node, 'RCurly')[0];
    const range = this.cover([this.tokenRange(open), ...items.map((i) => i.range), close ? this.tokenRange(close) : undefined])!;
    return { kind: 'block', items, range };
  }

  private groups(groupNodes: CstNode[]): ValueGroup[] {
    const out: ValueGroup[] = [];
    for (const g of groupNodes) {
      const values = nodes(g, 'value')
        .map((v) => this.value(v))
        .filter((v): v is Value => v !== undefined)
        .sort((a, b) => a.range.offset - b.range.offset);
      const range = this.cover(values.map((v) => v.range));
      if (range) out.push({ kind: 'group', values, range });
    }
    return out.sort((a, b) => a.range.offset - b.range.offset);
  }

  private value(node: CstNode): Value | undefined {
    const atoms = nodes(node, 'atom')
      .map((a) => this.atom(a))
      .filter((a): a is Value => a !== undefined)
      .sort((a, b) => a.range.offset - b.range.offset);
    const dots = tokens(node, 'DotDot')[0];
    const [from, to] = atoms;
    if (from && to && dots) return { kind: 'range', from, to, range: this.index.span(from.range, to.range) };
    // A range missing one end was already reported as a syntax error; keep what is there.
    return from;
  }

  private atom(node: CstNode): Value | undefined {
    const n = tokens(node, 'NumberLiteral')[0];
    if (n) return { kind: 'number', value: Number(n.image), raw: n.image, range: this.tokenRange(n) };
    const p = tokens(node, 'Percent')[0];
    if (p) return { kind: 'percent', value: Number(p.image.slice(0, -1)) / 100, raw: p.image, range: this.tokenRange(p) };
    const s = tokens(node, 'StringLiteral')[0];
    if (s) return { kind: 'string', value: unescapeString(s.image), raw: s.image, range: this.tokenRange(s) };
    const listNode = nodes(node, 'list')[0];
    if (listNode) return this.list(listNode);
    const id = tokens(node, 'Identifier')[0];
    if (!id) return undefined;
    const callNode = nodes(node, 'call')[0];
    if (callNode) return this.call(this.word(id), callNode);
    return { kind: 'word', name: id.image, range: this.tokenRange(id) };
  }

  private call(callee: Word, node: CstNode): CallValue {
    const args = this.groups(nodes(node, 'group'));
    const close = tokens(node, 'RParen')[0];
    const open = tokens(node, 'LParen')[0];
    const range = this.cover([callee.range, open ? this.tokenRange(open) : undefined, ...args.map((a) => a.range), close ? this.tokenRange(close) : undefined])!;
    return { kind: 'call', callee, args, range };
  }

  private list(node: CstNode): ListValue | undefined {
    const open = tokens(node, 'LBracket')[0];
    const close = tokens(node, 'RBracket')[0];
    const items = nodes(node, 'value')
      .map((v) => this.value(v))
      .filter((v): v is Value => v !== undefined)
      .sort((a, b) => a.range.offset - b.range.offset);
    const range = this.cover([open ? this.tokenRange(open) : undefined, ...items.map((i) => i.range), close ? this.tokenRange(close) : undefined]);
    return range ? { kind: 'list', items, range } : undefined;
  }
}
