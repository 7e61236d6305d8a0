/**
 * The layers' import rules (docs/architecture.md, "Layers"), checked over every source file:
 * data flows dsl -> compiler -> runtime -> cli and never back, contract/ is imported by all and
 * imports none of them, and a layer is entered only through its index.ts (contract/ excepted: a
 * leaf of one-concept files, taken one by one so a browser build can leave its Node files out). Imports are read with
 * TypeScript's own pre-processor (static imports, re-exports, dynamic import() and
 * `import type`), so a deep import cannot hide in any of those forms.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..');

type Layer = 'contract' | 'dsl' | 'compiler' | 'runtime' | 'cli' | 'bin';
const LAYERS: readonly Layer[] = ['contract', 'dsl', 'compiler', 'runtime', 'cli', 'bin'];

/** The layers each layer may import (besides itself), and the file through which it enters them ('*': any file). */
// An entry is a layer's public surface for the importer: '*' (any file), one index file, or a list.
// The runtime enters the compiler through compiler/index.ts on Node, through compiler/portable.ts
// in files a page bundles or the CommonJS bindings load (it loads no Node module and not the DSL's
// ES-module-only parser library; checked below), and through compiler/model-graph.ts for the one
// Node-only reader the bindings need (a model file's graph without the DSL). The CLI reaches the
// report renderer (it reads the chart library from node_modules) directly, not through the runtime
// index that the page imports. The compiler takes the DSL's two parser-free helpers (module ids
// and block ranges, edit distance for hints) directly: dsl/index.ts loads the parser.
const ALLOWED: Readonly<Record<Layer, Partial<Record<Layer, string | readonly string[]>>>> = {
  contract: {},
  dsl: { contract: '*' },
  compiler: { contract: '*', dsl: ['dsl/index.ts', 'dsl/resolve.ts', 'dsl/suggest.ts'] },
  runtime: { contract: '*', dsl: 'dsl/index.ts', compiler: ['compiler/index.ts', 'compiler/portable.ts', 'compiler/model-graph.ts'] },
  cli: { contract: '*', dsl: 'dsl/index.ts', compiler: 'compiler/index.ts', runtime: ['runtime/index.ts', 'runtime/report/html.ts'] },
  bin: { cli: 'cli/main.ts' },
};

function layerOf(path: string): Layer | undefined {
  const top = path.split('/')[0] as Layer;
  return LAYERS.includes(top) ? top : undefined;
}

/**
 * What is wrong with `from` (a repository path) importing `specifier`, or undefined when the
 * import keeps the rules. Packages and node: modules are always allowed.
 */
export function importProblem(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const source = layerOf(from);
  if (!source) return undefined;
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  const layer = layerOf(target);
  if (layer === source) return undefined;
  if (!layer) return target === 'package.json' ? undefined : `${from} imports ${target}, outside lor2c's layers`;
  const entry = ALLOWED[source][layer];
  if (entry === undefined) return `${from} imports ${target}: ${source}/ must not depend on ${layer}/`;
  const entries = typeof entry === 'string' ? [entry] : entry;
  if (entry !== '*' && !entries.includes(target)) return `${from} imports ${target}: outside ${layer}/, use ${entries.join(' or ')}`;
  return undefined;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|js)$/.test(entry.name)) out.push(path);
  }
  return out;
}

function importsOf(path: string): string[] {
  const info = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

test('the rule itself: deep and backward imports are found, index imports pass', (t) => {
  t.is(importProblem('runtime/trainer.ts', '../compiler/index.ts'), undefined);
  t.is(importProblem('runtime/data/schema.ts', '../../contract/manifest.ts'), undefined);
  t.is(importProblem('compiler/graph/dce.ts', './graph.ts'), undefined);
  t.is(importProblem('cli/commands/check.ts', 'node:fs'), undefined);
  t.regex(importProblem('runtime/export.ts', '../compiler/graph/dce.ts') ?? '', /outside compiler\/, use compiler\/index\.ts/);
  t.regex(importProblem('cli/commands/train.ts', '../../dsl/resolve.ts') ?? '', /use dsl\/index\.ts/);
  t.regex(importProblem('compiler/compile.ts', '../runtime/index.ts') ?? '', /compiler\/ must not depend on runtime\//);
  t.regex(importProblem('dsl/checker.ts', '../compiler/index.ts') ?? '', /dsl\/ must not depend on compiler\//);
  t.regex(importProblem('contract/manifest.ts', '../dsl/index.ts') ?? '', /contract\/ must not depend on dsl\//);
  t.regex(importProblem('compiler/compile.ts', '../examples/models/index.ts') ?? '', /outside lor2c's layers/);
});

test('every source file keeps the layers\' import rules', (t) => {
  const problems: string[] = [];
  let files = 0;
  for (const layer of LAYERS) {
    for (const path of sourceFiles(join(ROOT, layer))) {
      files++;
      const from = relative(ROOT, path).split(sep).join('/');
      for (const specifier of importsOf(path)) {
        const problem = importProblem(from, specifier);
        if (problem) problems.push(problem);
      }
    }
  }
  t.true(files > 100, `only ${files} source files found under ${dirname(ROOT)}`);
  t.deepEqual(problems, []);
});

/**
 * The specifiers a file loads at run time: static imports and re-exports that are not
 * `import type` / `export type` (or made only of type-only names), and dynamic import()s.
 */
function runtimeImportsOf(path: string): string[] {
  const file = ts.createSourceFile(path, readFileSync(join(ROOT, path), 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const onlyTypes = (names: ts.NamedImportBindings | ts.NamedExportBindings | undefined) =>
    names !== undefined && (ts.isNamedImports(names) || ts.isNamedExports(names)) && names.elements.length > 0 && names.elements.every((e) => e.isTypeOnly);
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && onlyTypes(clause.namedBindings)));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly && !onlyTypes(node.exportClause)) out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** Every module `entry` (a repository path) loads at run time, itself included, and the packages and node: modules among them. */
function transitiveImports(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (path: string) => {
    if (files.has(path)) return;
    files.add(path);
    for (const specifier of runtimeImportsOf(path)) {
      if (specifier.startsWith('.')) visit(posix.normalize(posix.join(posix.dirname(path), specifier)));
      else external.add(specifier);
    }
  };
  visit(entry);
  return { files, external };
}

test('compiler/portable.ts loads no Node module and not the DSL parser, so a page and CommonJS bindings can load it', (t) => {
  const { files, external } = transitiveImports('compiler/portable.ts');
  t.true(files.size > 20, `only ${files.size} files reached from compiler/portable.ts`);
  t.deepEqual([...external].filter((m) => m.startsWith('node:') || m === 'chevrotain').sort(), []);
  t.false(files.has('dsl/index.ts'), 'compiler/portable.ts reaches dsl/index.ts');
  // The walk itself finds what it must: compiler/index.ts loads both.
  const all = transitiveImports('compiler/index.ts');
  t.true([...all.external].some((m) => m.startsWith('node:')));
  t.true(all.files.has('dsl/index.ts') || all.external.has('chevrotain'));
});
