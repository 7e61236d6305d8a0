/**
 * Typed TypeScript bindings for an artifacts directory (`lor2c compile --emit-ts`): DIR/bindings.ts.
 *
 * The manifest already says what every graph input and output is; this turns it into types a
 * user's editor and `tsc` check: a `Row` per inference example (one field per data input of
 * infer.onnx, nested arrays per rank), a `LabelledRow` for training and evaluation data, an
 * `Outputs` per row, the trainable parameters as a string-literal union with their shapes, and a
 * `load()` that opens the artifacts with the runtime's Pipeline and exposes only what this task
 * has (`classify` for classification, `nextTokenLogits` for language models).
 *
 * What a Merge/Inject changes and what it does not: training recompiles the same model with
 * another adapter structure (DIR/structure/step-N), so its rows, outputs and task stay those the
 * types describe, while its parameters are no longer the compiled ones. `load({ checkpoint })`
 * follows a checkpoint to the artifacts it belongs to, as `lor2c infer --checkpoint` does, and
 * `load({ dir })` opens a recompile directly: both are accepted when the artifacts come from the
 * same base model (its sha256 is baked in), have the same rows, outputs and task, and their spec
 * schedules a Merge/Inject; `structure` then says 'recompiled' and `parameters` lists the
 * parameters actually loaded (`Parameters` and `PARAMETERS` describe the compiled structure).
 * Anything else with other parameters is refused: the bindings were generated for other artifacts.
 *
 * The source is built through ts-morph structures (interfaces, type aliases, variables,
 * functions); only function bodies are written with its code writer. ts-morph (and the
 * TypeScript compiler inside it, about half a second to load) is loaded on the first call, not
 * by every `lor2c` command that imports the compiler.
 *
 * The generated module is written to work whether the directory it lands in is read as an ES
 * module or as CommonJS (an artifacts directory usually has no package.json of its own): it uses
 * no `import.meta` and no top-level await, so it bakes in the artifacts directory's absolute
 * path as the default for `load()`. It imports the runtime from `runtimeImport`: by default the
 * package specifier 'lor2c/inference' (package.json `exports`), which resolves wherever lor2c is
 * installed as a dependency; pass a path (POSIX, or relative) to use a lor2c checkout instead.
 */
import { createRequire } from 'node:module';
import type { CodeBlockWriter, InterfaceDeclarationStructure, OptionalKind, PropertySignatureStructure, StatementStructures, WriterFunction } from 'ts-morph';
import type { Dim, IOInfo, Manifest } from '../../contract/manifest.ts';

export interface BindingsOptions {
  /** Module specifier the generated file imports `Pipeline` from. Default: {@link RUNTIME_IMPORT}. */
  runtimeImport?: string;
  /**
   * Absolute path of the artifacts directory, the default `dir` of `load()`. Without it `load()`
   * requires `{ dir }`.
   */
  artifactsDir?: string;
}

/** The runtime's inference entry point by package name (package.json `exports`), as a project that depends on lor2c imports it. */
export const RUNTIME_IMPORT = 'lor2c/inference';

type TsMorph = typeof import('ts-morph');
let loaded: TsMorph | undefined;
function tsMorph(): TsMorph {
  loaded ??= createRequire(import.meta.url)('ts-morph') as TsMorph;
  return loaded;
}

/** The source text of bindings.ts for the artifacts `manifest` describes. */
export function emitBindings(manifest: Manifest, options: BindingsOptions = {}): string {
  const { IndentationText, NewLineKind, Project, QuoteKind, StructureKind, VariableDeclarationKind } = tsMorph();
  const runtimeImport = options.runtimeImport ?? RUNTIME_IMPORT;
  const infer = manifest.graphs.infer;
  const rowInputs = infer.inputs.filter((io) => io.role === 'batch');
  const outputs = infer.outputs.filter((io) => io.role === 'output');
  // Train and eval read the same data keys; eval's are the ones a labelled data file must have.
  const labelledInputs = manifest.graphs.eval.inputs.filter((io) => io.role === 'batch');
  const labelOnly = labelledInputs.filter((io) => !rowInputs.some((r) => r.name === io.name));
  const task = manifest.task.kind;
  const parameterNames = manifest.parameters.map((p) => p.name);

  const statements: (string | WriterFunction | StatementStructures)[] = [
    header(manifest, options.artifactsDir, runtimeImport),
    {
      kind: StructureKind.ImportDeclaration,
      moduleSpecifier: runtimeImport,
      namedImports: [
        'Pipeline',
        { name: 'PipelineOptions', isTypeOnly: true },
        { name: 'Float32Tensor', isTypeOnly: true },
        ...(task === 'classify' ? [{ name: 'Classification', isTypeOnly: true }] : []),
      ],
    },
    constant('ARTIFACTS_DIR', options.artifactsDir === undefined ? 'undefined' : literal(options.artifactsDir),
      options.artifactsDir === undefined ? 'No default artifacts directory was given when these bindings were generated: pass `load({ dir })`.' : 'Where the artifacts were written: the default `dir` of `load()`.',
      options.artifactsDir === undefined ? 'string | undefined' : undefined),
    constant('BASE_SHA256', literal(manifest.base.sha256), 'The sha256 of the base model the artifacts were compiled from: a recompile after a Merge/Inject must share it.'),
    constant('TASK', `${literal(task)} as const`, `The task the artifacts were compiled for (label key ${literal(manifest.task.labelKey)}, logits ${literal(manifest.task.logits)}).`),
    {
      kind: StructureKind.Interface,
      name: 'Row',
      isExported: true,
      docs: [`One example for inference: the data inputs of ${infer.file}. Symbolic dims (such as 'seq') may differ from row to row; rows are padded into batches by the runtime.`],
      properties: rowInputs.map(rowProperty),
    },
    labelOnly.length === 0
      ? {
        kind: StructureKind.TypeAlias,
        name: 'LabelledRow',
        isExported: true,
        docs: [`One example for training and evaluation (a line of the JSONL data file): the labels ${literal(manifest.task.labelKey)} are the row's own inputs${task === 'lm' ? ', shifted by one position' : ''}, so it is a Row.`],
        type: 'Row',
      }
      : {
        kind: StructureKind.Interface,
        name: 'LabelledRow',
        isExported: true,
        extends: ['Row'],
        docs: [`One example for training and evaluation (a line of the JSONL data file): a Row plus its label.`],
        properties: labelOnly.map(rowProperty),
      },
    outputsInterface(outputs, infer.file),
    constant('ROW_KEYS', `[${rowInputs.map((io) => literal(io.name)).join(', ')}] as const`, 'The keys of a Row, in graph order.'),
    constant('OUTPUT_NAMES', `[${outputs.map((io) => literal(io.name)).join(', ')}] as const`, 'The keys of Outputs, in graph order.'),
    {
      kind: StructureKind.TypeAlias,
      name: 'Parameters',
      isExported: true,
      docs: ['The name of every trainable parameter (what an adapter file holds).'],
      type: parameterNames.length === 0 ? 'never' : parameterNames.map(literal).join(' | '),
    },
    {
      kind: StructureKind.VariableStatement,
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: ['The shape of every trainable parameter, by name.'],
      declarations: [{ name: 'PARAMETERS', initializer: parameterShapes(manifest) }],
    },
    {
      kind: StructureKind.TypeAlias,
      name: 'AdapterValues',
      isExported: true,
      docs: ['Values for every trainable parameter: a Float32Array in the shape PARAMETERS gives, or a { shape, data } tensor.'],
      type: '{ readonly [P in Parameters]: Float32Array | Float32Tensor }',
    },
    {
      kind: StructureKind.TypeAlias,
      name: 'Adapter',
      isExported: true,
      docs: ['An adapter: a safetensors file (path) or values by parameter name.'],
      type: 'string | AdapterValues',
    },
    {
      kind: StructureKind.TypeAlias,
      name: 'AnyAdapter',
      isExported: true,
      docs: ['An adapter of the structure actually loaded: after a Merge/Inject (`structure` \'recompiled\') its names are those of `parameters`, given as a file or a Map.'],
      type: 'Adapter | ReadonlyMap<string, Float32Array | Float32Tensor>',
    },
    {
      kind: StructureKind.Interface,
      name: 'LoadOptions',
      isExported: true,
      extends: [`Omit<PipelineOptions, 'adapter'>`],
      docs: ['Options of load(): the Pipeline options (`checkpoint` and `best` follow a checkpoint to its artifacts), with the adapter typed by these artifacts\' parameter names.'],
      properties: [
        { name: 'dir', type: 'string', hasQuestionToken: options.artifactsDir !== undefined, docs: ['The artifacts directory (default: ARTIFACTS_DIR), or its recompile DIR/structure/step-N.'] },
        { name: 'adapter', type: 'Adapter', hasQuestionToken: true, docs: ['The adapter to start with (default: the checkpoint\'s values with `checkpoint`, else the artifacts\' adapter.safetensors, the initial values).'] },
      ],
    },
    bindingsInterface(manifest),
    {
      kind: StructureKind.Function,
      name: 'load',
      isExported: true,
      isAsync: true,
      docs: ['Opens the artifacts (infer.onnx, loaded once), or with `checkpoint` the artifacts that checkpoint belongs to, and checks they are the ones these bindings were generated for or a Merge/Inject recompile of them.'],
      parameters: [{ name: 'options', type: 'LoadOptions', initializer: options.artifactsDir === undefined ? undefined : '{}' }],
      returnType: 'Promise<Bindings>',
      statements: loadBody(task),
    },
    {
      kind: StructureKind.Function,
      name: 'adapterSource',
      parameters: [{ name: 'adapter', type: 'AnyAdapter' }],
      returnType: 'string | ReadonlyMap<string, Float32Array | Float32Tensor>',
      statements: (w) => {
        w.writeLine(`return typeof adapter === 'string' || adapter instanceof Map ? adapter as string | ReadonlyMap<string, Float32Array | Float32Tensor> : new Map(Object.entries(adapter));`);
      },
    },
    {
      kind: StructureKind.Function,
      name: 'checkArtifacts',
      docs: ['The loaded manifest must match the types above, or every type here would be a lie: other artifacts need new bindings. A Merge/Inject recompile of the same model keeps the rows, outputs and task and changes only the parameters: \'recompiled\'.'],
      parameters: [{ name: 'pipeline', type: 'Pipeline' }, { name: 'dir', type: 'string' }],
      returnType: `'compiled' | 'recompiled'`,
      statements: checkArtifactsBody,
    },
  ];

  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { quoteKind: QuoteKind.Single, indentationText: IndentationText.TwoSpaces, newLineKind: NewLineKind.LineFeed, useTrailingCommas: true },
  });
  const file = project.createSourceFile('bindings.ts', { statements });
  // TypeScript's own formatter settles the indentation of multi-line initializers.
  file.formatText({ indentSize: 2, tabSize: 2, convertTabsToSpaces: true });
  return file.getFullText();
}

function header(manifest: Manifest, dir: string | undefined, runtimeImport: string): WriterFunction {
  return (w) => {
    w.writeLine('/**');
    for (const line of [
      `Typed bindings for the lor2c artifacts${dir === undefined ? '' : ` in ${dir}`}: task ${manifest.task.kind}, ${manifest.parameters.length} trainable parameters,`,
      `base model ${manifest.base.path} (sha256 ${manifest.base.sha256.slice(0, 12)}).`,
      `Generated by lor2c ${manifest.versions.lor2c} (\`lor2c compile --emit-ts\`) from manifest.json: compile again rather than edit.`,
      '',
      `The runtime is imported from ${runtimeImport}; to use another (a lor2c checkout by its path),`,
      'generate the bindings with',
      '`emitBindings(manifest, { runtimeImport })` from lor2c\'s compiler/emit/bindings.ts.',
      '',
      '    const model = await load();',
      manifest.task.kind === 'classify' ? '    const [{ label, probabilities }] = await model.classify([row]);'
        : manifest.task.kind === 'lm' ? '    const [next] = await model.nextTokenLogits([row]);'
          : '    const [outputs] = await model.run([row]);',
    ]) w.writeLine(line === '' ? ' *' : ` * ${comment(line)}`);
    w.writeLine(' */');
  };
}

function constant(name: string, initializer: string, doc: string, type?: string): StatementStructures {
  const { StructureKind, VariableDeclarationKind } = tsMorph();
  return { kind: StructureKind.VariableStatement, isExported: true, declarationKind: VariableDeclarationKind.Const, docs: [doc], declarations: [{ name, initializer, type }] };
}

/** A Row field: nested arrays, one level per dim after the batch dim. */
function rowProperty(io: IOInfo): OptionalKind<PropertySignatureStructure> {
  const perRow = io.shape.slice(1);
  const leaf = io.dtype === 'bool' ? '(number | boolean)' : 'number';
  const type = perRow.length === 0 ? leaf.replace(/^\((.*)\)$/, '$1') : leaf + '[]'.repeat(perRow.length);
  const what = perRow.length === 0 ? 'one value per row' : `shape ${dims(perRow)} per row`;
  return { name: propertyName(io.name), type, docs: [comment(`${io.dtype}, ${what} (graph input ${dims(io.shape)}).`)] };
}

function outputsInterface(outputs: IOInfo[], file: string): InterfaceDeclarationStructure {
  return {
    kind: tsMorph().StructureKind.Interface,
    name: 'Outputs',
    isExported: true,
    docs: [`The model outputs of one row (${file}), each cut to the row's own length: padding added for the batch never shows.`],
    properties: outputs.map((io) => {
      const perRow = io.shape.slice(1);
      const shape = `[${perRow.map((d) => (typeof d === 'number' ? String(d) : 'number')).join(', ')}]`;
      const data = io.dtype === 'float32' ? 'Float32Array' : 'Float64Array';
      const conversion = io.dtype === 'float32' || io.dtype === 'float64' ? '' : ' (converted to float64)';
      return {
        name: propertyName(io.name),
        type: `{ shape: ${shape}; data: ${data} }`,
        docs: [comment(`${io.dtype}${conversion}, shape ${dims(perRow)} per row (graph output ${dims(io.shape)}), row-major in data.`)],
      };
    }),
  };
}

function parameterShapes(manifest: Manifest): WriterFunction {
  return (w) => {
    if (manifest.parameters.length === 0) {
      w.write('{} as const satisfies Record<Parameters, readonly number[]>');
      return;
    }
    w.inlineBlock(() => {
      for (const p of manifest.parameters) {
        // A literal `'__proto__':` key would set the prototype; a computed key defines a property.
        const key = p.name === '__proto__' ? `['__proto__']` : propertyName(p.name);
        w.writeLine(`${key}: [${p.shape.join(', ')}],`);
      }
    });
    w.write(' as const satisfies Record<Parameters, readonly number[]>');
  };
}

function bindingsInterface(manifest: Manifest): InterfaceDeclarationStructure {
  const task = manifest.task.kind;
  const methods = [
    { name: 'run', parameters: [{ name: 'rows', type: 'readonly Row[]' }], returnType: 'Promise<Outputs[]>', docs: ['Runs rows in batches; one Outputs per row, in order.'] },
    ...(task === 'classify' ? [{ name: 'classify', parameters: [{ name: 'rows', type: 'readonly Row[]' }], returnType: 'Promise<Classification[]>', docs: [`Argmax label and softmax probabilities of ${literal(manifest.task.logits)}, per row.`] }] : []),
    ...(task === 'lm' ? [{ name: 'nextTokenLogits', parameters: [{ name: 'rows', type: 'readonly Row[]' }], returnType: 'Promise<Float32Array[]>', docs: [`The logits (${literal(manifest.task.logits)}) predicting the token after each row's last position.`] }] : []),
    { name: 'useAdapter', parameters: [{ name: 'adapter', type: 'AnyAdapter' }], returnType: 'void', docs: ['Switches the adapter on the loaded session (no reload); checked against the artifacts loaded (their `parameters`), the previous one stays on error.'] },
    { name: 'release', returnType: 'Promise<void>', docs: ['Releases the inference session.'] },
  ];
  return {
    kind: tsMorph().StructureKind.Interface,
    name: 'Bindings',
    isExported: true,
    docs: ['The artifacts, opened.'],
    properties: [
      { name: 'pipeline', type: 'Pipeline', isReadonly: true, docs: ['The untyped runtime Pipeline underneath (`pipeline.dir`: the artifacts loaded).'] },
      { name: 'structure', type: `'compiled' | 'recompiled'`, isReadonly: true, docs: ['\'compiled\': the structure Parameters describes; \'recompiled\': a Merge/Inject changed it (the parameters loaded are `parameters`).'] },
      { name: 'parameters', type: 'Readonly<Record<string, readonly number[]>>', isReadonly: true, docs: ['The shape of every parameter of the artifacts loaded, by name (PARAMETERS unless recompiled).'] },
    ],
    methods,
  };
}

function loadBody(task: Manifest['task']['kind']): WriterFunction {
  return (w: CodeBlockWriter) => {
    w.writeLine('const { dir = ARTIFACTS_DIR, adapter, ...rest } = options;');
    w.writeLine(`if (dir === undefined) throw new Error('load(): pass { dir }, the artifacts directory');`);
    w.writeLine('const pipeline = await Pipeline.load(dir, { ...rest, ...(adapter === undefined ? {} : { adapter: adapterSource(adapter) }) });');
    w.writeLine(`let structure: 'compiled' | 'recompiled';`);
    w.write('try ').inlineBlock(() => w.writeLine('structure = checkArtifacts(pipeline, pipeline.dir);'));
    w.write(' catch (e) ').block(() => {
      w.writeLine('await pipeline.release();');
      w.writeLine('throw e;');
    });
    w.write('return ').inlineBlock(() => {
      w.writeLine('pipeline,');
      w.writeLine('structure,');
      w.writeLine('parameters: Object.fromEntries(pipeline.manifest.parameters.map((p) => [p.name, p.shape])),');
      // The runtime cuts every output to the rank and sizes Outputs describes (checked above).
      w.writeLine('run: async (rows) => (await pipeline.runRows(rows)) as unknown as Outputs[],');
      if (task === 'classify') w.writeLine('classify: (rows) => pipeline.classify(rows),');
      if (task === 'lm') w.writeLine('nextTokenLogits: (rows) => pipeline.nextTokenLogits(rows),');
      w.writeLine('useAdapter: (source) => pipeline.useAdapter(adapterSource(source)),');
      w.writeLine('release: () => pipeline.release(),');
    }).write(';').newLine();
  };
}

function checkArtifactsBody(w: CodeBlockWriter): void {
  w.writeLine('const m = pipeline.manifest;');
  w.writeLine('const problems: string[] = [];');
  w.writeLine('const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);');
  w.writeLine(`if (m.task.kind !== TASK) problems.push(\`task '\${m.task.kind}', expected '\${TASK}'\`);`);
  w.writeLine(`const rowKeys = pipeline.schema.inputs.map((s) => s.name);`);
  w.writeLine(`if (!same(rowKeys, ROW_KEYS)) problems.push(\`row keys \${rowKeys.join(', ')}, expected \${ROW_KEYS.join(', ')}\`);`);
  w.writeLine(`const outputNames = m.graphs.infer.outputs.filter((o) => o.role === 'output').map((o) => o.name);`);
  w.writeLine(`if (!same(outputNames, OUTPUT_NAMES)) problems.push(\`outputs \${outputNames.join(', ')}, expected \${OUTPUT_NAMES.join(', ')}\`);`);
  w.writeLine(`const shapes: Record<string, readonly number[]> = PARAMETERS;`);
  w.writeLine(`const parameters = new Map(m.parameters.map((p) => [p.name, p.shape]));`);
  w.writeLine(`const parameterProblems: string[] = [];`);
  w.write('for (const [name, shape] of Object.entries(shapes)) ').block(() => {
    w.writeLine(`const found = parameters.get(name);`);
    w.writeLine(`if (found === undefined) parameterProblems.push(\`no parameter '\${name}'\`);`);
    w.writeLine(`else if (!same(found, shape)) parameterProblems.push(\`parameter '\${name}' has shape [\${found.join(', ')}], expected [\${shape.join(', ')}]\`);`);
  });
  w.writeLine(`for (const name of parameters.keys()) if (!Object.hasOwn(shapes, name)) parameterProblems.push(\`unexpected parameter '\${name}'\`);`);
  w.writeLine('// A Merge/Inject recompiles the same model (same base, rows, outputs, task) with other parameters, by design.');
  w.writeLine('const scheduled = m.plan.merge !== undefined || m.plan.inject !== undefined;');
  w.writeLine(`const recompiled = parameterProblems.length > 0 && problems.length === 0 && scheduled && m.base.sha256 === BASE_SHA256;`);
  w.writeLine(`if (!recompiled) problems.push(...parameterProblems);`);
  w.write('if (problems.length > 0) ').block(() => {
    w.writeLine(`throw new Error(\`\${dir}: these bindings were generated for other artifacts (\${problems.join('; ')}); run \\\`lor2c compile --emit-ts\\\` again\`);`);
  });
  w.writeLine(`return recompiled ? 'recompiled' : 'compiled';`);
}

/** A property name as written in a type or object literal: bare where it is an identifier, quoted otherwise (dots, slashes). */
export function propertyName(name: string): string {
  const { ts } = tsMorph();
  const points = [...name].map((c) => c.codePointAt(0)!);
  const identifier = points.length > 0 && ts.isIdentifierStart(points[0]!, ts.ScriptTarget.ES2022) && points.every((p) => ts.isIdentifierPart(p, ts.ScriptTarget.ES2022));
  return identifier ? name : literal(name);
}

/** A single-quoted TypeScript string literal. */
function literal(text: string): string {
  const body = JSON.stringify(text).slice(1, -1).replaceAll('\\"', '"').replaceAll("'", "\\'");
  return `'${body}'`;
}

function dims(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}

/** Text safe inside a block comment. */
function comment(text: string): string {
  return text.replaceAll('*/', '*\\/');
}
