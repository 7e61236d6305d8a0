/**
 * The section schemas are the one list of each section's keys: the reader accepts exactly them,
 * "accepts: ..." and "goes in ..." hints are made from them, the language reference names
 * them, and the CLI flags that override settings are the ones the schemas declare.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSpec, type Diagnostic } from '../../../dsl/index.ts';
import { KEY_HOMES, SECTIONS } from '../../../dsl/check/homes.ts';
import { choice, defaultsOf, describeNumber, flagsOf, int, keysOf, number, readSection, section, settingsOf } from '../../../dsl/check/schema.ts';
import { SpecReader } from '../../../dsl/check/reader.ts';
import { parseText } from '../../../dsl/parse.ts';
import { TEXT } from '../../../dsl/check/sections/text.ts';
import { TOP } from '../../../dsl/check/sections/top.ts';
import { TRAIN } from '../../../dsl/check/sections/train/train.ts';
import { trainCommand } from '../../../cli/commands/train.ts';
import { TEXT_OPTIONS } from '../../../cli/commands/text-flags.ts';
import { compileCommand } from '../../../cli/commands/compile.ts';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A spec with `body` inside the section whose messages call it `home`. */
const inside: Record<string, (body: string) => string> = {
  'the top level': (body) => `${body}\n`,
  '`lor2c { }`': (body) => `lor2c {\n${body}\n}\n`,
  '`lora { }`': (body) => `lora {\n${body}\n}\n`,
  '`merge { }`': (body) => `lor2c\nmerge {\n${body}\n}\n`,
  '`inject { }`': (body) => `lor2c\ninject {\n${body}\n}\n`,
  '`train { }`': (body) => `train {\n${body}\n}\n`,
  '`text { }`': (body) => `text {\n${body}\n}\n`,
};

const unknown = (ds: Diagnostic[]) => ds.filter((d) => d.code === 'unknown-setting');

test('every section a key may go in has a spec form here', (t) => {
  t.deepEqual(
    SECTIONS.map((s) => s.home),
    Object.keys(inside),
  );
});

for (const s of SECTIONS) {
  test(`${s.home}: the reader accepts exactly the schema's keys, and lists them`, (t) => {
    const wrap = inside[s.home]!;
    for (const key of keysOf(s)) t.deepEqual(unknown(checkSpec(wrap(key), 'x.lor2c').diagnostics), [], key);
    const [d] = unknown(checkSpec(wrap('zzqqxx 1'), 'x.lor2c').diagnostics);
    t.is(d?.message, `unknown setting \`zzqqxx\` in ${s.home}`);
    t.is(d?.hint, `${s.home} accepts: ${keysOf(s).join(', ')}`);
  });
}

test('a key written in the wrong section is sent to every section that has it', (t) => {
  let sent = 0;
  for (const s of SECTIONS) {
    for (const key of keysOf(s)) {
      const homes = SECTIONS.filter((o) => keysOf(o).includes(key)).map((o) => o.home);
      for (const home of homes) t.true(KEY_HOMES[key]!.includes(home), `${key}: ${KEY_HOMES[key]} lacks ${home}`);
      // Where it is not accepted, the hint says where it goes (unless a near key is suggested).
      const elsewhere = SECTIONS.find((o) => !keysOf(o).includes(key) && !keysOf(o).some((k) => k !== key && (k.startsWith(key) || key.startsWith(k))));
      if (!elsewhere) continue;
      const [d] = unknown(checkSpec(inside[elsewhere.home]!(`${key} 1`), 'x.lor2c').diagnostics);
      if (d?.hint?.startsWith('did you mean')) continue;
      t.is(d?.hint, `\`${key}\` goes in ${KEY_HOMES[key]}`, `${key} in ${elsewhere.home}`);
      sent++;
    }
  }
  t.true(sent >= 30, `only ${sent} keys were tried elsewhere`);
});

test('the language reference names every key of every section', (t) => {
  const doc = readFileSync(path.join(root, 'spec', 'language.md'), 'utf8');
  for (const s of SECTIONS) {
    for (const key of keysOf(s)) t.regex(doc, new RegExp(`\`${key}[ \`(]|\\n {2}${key} `), `${s.home} ${key}`);
  }
});

test('the flags that override settings are the commands\' own', (t) => {
  const trainFlags = Object.values(flagsOf(TRAIN));
  t.deepEqual(trainFlags.sort(), ['batch', 'epochs', 'eval-every', 'seed', 'steps']);
  for (const flag of trainFlags) t.true(trainCommand.help.includes(`--${flag} N`), flag);
  t.deepEqual(Object.values(flagsOf(TEXT)).filter((f) => f !== 'labels').sort(), Object.keys(TEXT_OPTIONS).sort());
  t.true(compileCommand.help.includes('--labels'));
  t.deepEqual(Object.values(flagsOf(TOP)), ['model']);
  t.true(compileCommand.help.includes('--model MODEL.onnx'));
});

test('value types describe what they accept from their constraints', (t) => {
  t.is(int({ min: 1 }).expected, 'a positive integer');
  t.is(int({ min: 0 }).expected, 'an integer >= 0');
  t.is(int().expected, 'an integer');
  t.is(number({ min: 0, above: true }).expected, 'a positive number');
  t.is(number({ min: 0 }).expected, 'a number >= 0');
  t.is(describeNumber({ min: 0, max: 1, below: true, percent: true }), 'a number in [0, 1) or a percentage');
  t.is(describeNumber({ min: 0, above: true, max: 1 }), 'a number in (0, 1]');
  t.is(choice(['fp32', 'fp16']).expected, '`fp32` or `fp16`');
  t.is(choice(['a', 'b', 'c']).expected, '`a`, `b` or `c`');
});

test('defaults come from the schema, each plan its own copy', (t) => {
  const a = checkSpec('lor2c\n', 'x.lor2c').plan!;
  const b = checkSpec('lor2c\n', 'x.lor2c').plan!;
  t.deepEqual(a.train, {
    task: { kind: 'classify', logits: 'logits', labels: 'labels' },
    trainable: [],
    optimizer: { kind: 'adamw', lr: 4e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 },
    schedule: { kind: 'linear', warmup: { unit: 'fraction', fraction: 0.06 } },
    batch: 32,
    accumulate: 1,
    length: { count: 1, unit: 'epochs' },
    seed: 42,
    precision: 'fp32',
  });
  t.deepEqual(a.lora, []);
  t.deepEqual(checkSpec('lora\n', 'x.lor2c').plan!.lora[0]!.targets, [
    { kind: 'role', role: 'q' },
    { kind: 'role', role: 'v' },
  ]);
  const first = defaultsOf(TRAIN);
  first.trainable!.push({ pattern: 'x', lrScale: 1 });
  t.deepEqual(defaultsOf(TRAIN).trainable, [], 'a default changed by one plan is not changed for the next');
  t.deepEqual(b.train, a.train);
});

test('the arguments of call settings are read, listed and sent home from their forms\' schemas', (t) => {
  let forms = 0;
  for (const s of SECTIONS) {
    for (const [setting, { variants }] of Object.entries(s.settings)) {
      for (const [kind, variant] of Object.entries(variants ?? {})) {
        if (!variant.args) continue;
        forms++;
        const wrap = (args: string) => inside[s.home]!(`${setting} ${kind}(${args})`);
        for (const key of keysOf(variant.args)) t.deepEqual(unknown(checkSpec(wrap(`${key} 1`), 'x.lor2c').diagnostics), [], `${kind}(${key})`);
        const [d] = unknown(checkSpec(wrap('zzqqxx 1'), 'x.lor2c').diagnostics);
        t.is(d?.hint, `\`${kind}(...)\` accepts: ${keysOf(variant.args).join(', ')}`);
        for (const key of keysOf(variant.args)) t.truthy(KEY_HOMES[key], key);
      }
    }
  }
  t.is(forms, 9, 'classify, lm, regress, adamw, sgd, constant, linear, cosine, fp16');
});

test('a setting declared in one line is read, checked, listed and defaulted', (t) => {
  type Demo = { size: number; mode: 'a' | 'b' };
  const s = settingsOf<Demo>();
  const DEMO = section<Demo>('`demo { }`', {
    size: s.value('size', int({ min: 1 }), { doc: 'how many', default: 3, flag: 'size' }),
    mode: s.value('mode', choice(['a', 'b']), { doc: 'which', default: 'a' }),
  });
  t.deepEqual(keysOf(DEMO), ['size', 'mode']);
  t.deepEqual(defaultsOf(DEMO), { size: 3, mode: 'a' });
  t.deepEqual(flagsOf(DEMO), { size: 'size' });
  const text = 'size 0\nmode zz\nmode\nsyze 2\n';
  const parsed = parseText(text, 'd.lor2c');
  const r = new SpecReader(parsed.index, 'd.lor2c', {});
  const demo = defaultsOf(DEMO) as Demo;
  readSection(r, DEMO, demo, { items: parsed.ast.items });
  t.deepEqual(
    r.diagnostics.map((d) => [d.range.line, d.range.col, d.message, d.hint]),
    [
      [1, 6, 'size must be at least 1, got 0', 'size must be a positive integer'],
      [2, 6, 'unknown mode `zz`', 'expected one of: a, b'],
      [3, 1, '`mode` is already set in `demo { }`', 'first set on line 2; remove one of them'],
      [4, 1, 'unknown setting `syze` in `demo { }`', 'did you mean `size`?'],
    ],
  );
  t.deepEqual(demo, { size: 3, mode: 'a' }, 'values that failed leave the defaults');
});
