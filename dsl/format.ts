/**
 * The canonical formatter. One setting per line, two-space indentation, `{` on the setting's
 * line, one space between values and `, ` between groups, numbers and strings exactly as written
 * (so meaning never changes), at most one blank line kept between lines that had one.
 *
 * Comments are kept: a comment after code on the same line stays a trailing comment; a comment
 * on its own line stays above the setting that follows it (or at the end of its block); a
 * comment written inside a setting that spans lines (a wrapped call) moves above that setting.
 * The output formats to itself (idempotent).
 */
import type { Block, CommentNode, Item, SpecFile, Value, ValueGroup } from './ast.ts';

const INDENT = '  ';

interface Attached {
  /** Own-line comments before the item, in order (comments hoisted out of the item come last). */
  leading: CommentNode[];
  /** Of the leading comments, those hoisted out of the item's own text. */
  hoisted: Set<CommentNode>;
  trailing?: CommentNode;
}

interface Container {
  items: Item[];
  /** Comments after the last item (or in an otherwise empty block). */
  dangling: CommentNode[];
  /** A comment on the same line as the block's `{`, before its first item. */
  open?: CommentNode;
  /** Line of `{` (0 for the file), for blank-line decisions. */
  openLine: number;
}

function blocksOf(item: Item): Block[] {
  return item.kind === 'setting' && item.body ? [item.body] : [];
}

function contains(range: { offset: number; length: number }, offset: number): boolean {
  return offset >= range.offset && offset < range.offset + range.length;
}

class Formatter {
  private readonly attached = new Map<Item, Attached>();
  private readonly containers = new Map<Block | SpecFile, Container>();

  constructor(private readonly ast: SpecFile) {
    this.containerFor(ast);
    for (const c of ast.comments) this.attach(c);
  }

  private containerFor(node: Block | SpecFile): Container {
    let c = this.containers.get(node);
    if (!c) {
      c = { items: node.items, dangling: [], openLine: node.kind === 'spec' ? 0 : node.range.line };
      this.containers.set(node, c);
    }
    return c;
  }

  private info(item: Item): Attached {
    let a = this.attached.get(item);
    if (!a) {
      a = { leading: [], hoisted: new Set() };
      this.attached.set(item, a);
    }
    return a;
  }

  /** Finds the innermost block holding the comment and gives the comment its place there. */
  private attach(comment: CommentNode): void {
    let node: Block | SpecFile = this.ast;
    for (;;) {
      const inner: Block | undefined = node.items.flatMap(blocksOf).find((b) => contains(b.range, comment.range.offset));
      if (!inner) break;
      node = inner;
    }
    const container = this.containerFor(node);
    const items = node.items;
    const within = items.find((i) => contains(i.range, comment.range.offset));
    if (within) {
      const a = this.info(within);
      a.leading.push(comment);
      a.hoisted.add(comment);
      return;
    }
    const before = items.filter((i) => i.range.offset + i.range.length <= comment.range.offset).at(-1);
    if (before && before.range.endLine === comment.range.line && !this.info(before).trailing) {
      this.info(before).trailing = comment;
      return;
    }
    if (!before && node.kind === 'block' && node.range.line === comment.range.line && !container.open) {
      container.open = comment;
      return;
    }
    const after = items.find((i) => i.range.offset > comment.range.offset);
    if (after) {
      const a = this.info(after);
      // Own-line comments come before hoisted ones, in source order.
      const firstHoisted = a.leading.findIndex((c) => a.hoisted.has(c));
      if (firstHoisted < 0) a.leading.push(comment);
      else a.leading.splice(firstHoisted, 0, comment);
      return;
    }
    container.dangling.push(comment);
  }

  format(): string {
    const lines: string[] = [];
    this.emitContainer(this.containers.get(this.ast)!, 0, lines);
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  private emitContainer(container: Container, depth: number, out: string[]): void {
    const pad = INDENT.repeat(depth);
    // The source line where the previous emitted element ended; a gap of 2+ lines means a blank line.
    let lastLine: number | undefined;
    const blankIfGap = (line: number) => {
      if (lastLine !== undefined && line - lastLine >= 2) out.push('');
    };
    for (const item of container.items) {
      const a = this.attached.get(item) ?? { leading: [], hoisted: new Set<CommentNode>() };
      for (const c of a.leading) {
        if (!a.hoisted.has(c)) blankIfGap(c.range.line);
        out.push(pad + c.text);
        lastLine = a.hoisted.has(c) ? lastLine : c.range.line;
      }
      const hasHoisted = a.leading.some((c) => a.hoisted.has(c));
      if (!hasHoisted) blankIfGap(item.range.line);
      this.emitItem(item, a.trailing, depth, out);
      lastLine = item.range.endLine;
    }
    for (const c of container.dangling) {
      blankIfGap(c.range.line);
      out.push(pad + c.text);
      lastLine = c.range.line;
    }
  }

  private emitItem(item: Item, trailing: CommentNode | undefined, depth: number, out: string[]): void {
    const pad = INDENT.repeat(depth);
    const tail = trailing ? `  ${trailing.text}` : '';
    if (item.kind === 'let') {
      out.push(`${pad}let ${item.name.name} = ${value(item.value)}${tail}`);
      return;
    }
    const head = item.groups.length > 0 ? `${item.key.name} ${item.groups.map(group).join(', ')}` : item.key.name;
    if (!item.body) {
      out.push(pad + head + tail);
      return;
    }
    const inner = this.containerFor(item.body);
    if (inner.items.length === 0 && inner.dangling.length === 0 && !inner.open) {
      out.push(`${pad}${head} {}${tail}`);
      return;
    }
    out.push(`${pad}${head} {${inner.open ? `  ${inner.open.text}` : ''}`);
    this.emitContainer(inner, depth + 1, out);
    out.push(`${pad}}${tail}`);
  }
}

function group(g: ValueGroup): string {
  return g.values.map(value).join(' ');
}

function value(v: Value): string {
  switch (v.kind) {
    case 'number':
    case 'percent':
    case 'string':
      return v.raw;
    case 'word':
      return v.name;
    case 'call':
      return `${v.callee.name}(${v.args.map(group).join(', ')})`;
    case 'list':
      return `[${v.items.map(value).join(', ')}]`;
    case 'range':
      return `${value(v.from)}..${value(v.to)}`;
  }
}

/** Formats a syntax-error-free AST (with errors, parts the parser could not read would be lost). */
export function formatAst(ast: SpecFile): string {
  return new Formatter(ast).format();
}
