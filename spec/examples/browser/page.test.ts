/**
 * The browser page in a real browser: Debian's chromium, headless, driven by playwright-core
 * against the page served on 127.0.0.1. The bundle is built here (and must import no node:
 * module), the example is compiled by `lor2c compile`, the page trains it on
 * onnxruntime-web's wasm backend, and its losses are compared with `lor2c train` in Node on the
 * same artifacts, seed and data; the adapter the page downloads must load with `lor2c infer`.
 * Skipped (with the reason) where chromium is not installed.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildPage } from '../../../examples/browser/build.ts';
import { prepareExample } from '../../../examples/browser/prepare.ts';
import { serve } from '../../../examples/browser/serve.ts';
import { readTrainingLog } from '../../../runtime/log.ts';

const CHROMIUM = '/usr/bin/chromium';
const STEPS = 8;
const repo = new URL('../../..', import.meta.url).pathname;
const lor2c = (...args: string[]) => execFileSync(process.execPath, [join(repo, 'bin/lor2c.js'), ...args], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// One build serves both tests.
const built = buildPage();

test('the page bundle imports no node: module', async (t) => {
  const page = await built;
  t.deepEqual(page.nodeImports, []);
  t.true(page.inputs.some((i) => i.endsWith('runtime/trainer.ts')), 'the trainer itself is in the bundle');
});

const haveChromium = existsSync(CHROMIUM);
(haveChromium ? test : test.skip)(`${STEPS} steps in chromium give lor2c train's losses; the downloaded adapter loads with lor2c infer`, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'lor2c-browser-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const example = prepareExample(join(work, 'example'));
  await built;
  const { server, url } = await serve({ example: example.dir, port: 0 });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));

  const context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.click('#load-example');
  await page.waitForFunction(() => (window as unknown as { lor2c: { status: string } }).lor2c.status !== 'empty');
  await page.fill('#steps', String(STEPS));
  await page.selectOption('#backend', 'wasm');
  await page.click('#train');
  await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as { lor2c: { status: string } }).lor2c.status), undefined, { timeout: 60_000 });
  const state = await page.evaluate(() => (window as unknown as { lor2c: { status: string; error?: string; losses: number[]; metrics?: Record<string, number> } }).lor2c);
  t.is(state.status, 'done', `${state.error ?? ''} ${errors.join('; ')} ${await page.textContent('#log')}`);
  t.is(state.losses.length, STEPS);
  t.truthy(state.metrics?.accuracy !== undefined, 'the page evaluated');

  const seed = JSON.parse(readFileSync(join(example.artifacts, 'manifest.json'), 'utf8')).training.seed as number;
  const logFile = join(work, 'node-log.jsonl');
  lor2c('train', example.artifacts, '--data', example.train, '--steps', String(STEPS), '--seed', String(seed), '--threads', '1', '--log', logFile);
  const nodeLosses = readTrainingLog(logFile).filter((r) => r.type === 'step').map((r) => r.loss as number);
  t.is(nodeLosses.length, STEPS);
  const worst = Math.max(...nodeLosses.map((l, i) => Math.abs(l - state.losses[i]!) / Math.abs(l)));
  t.log(`node  ${nodeLosses.map((l) => l.toFixed(6)).join(' ')}`);
  t.log(`page  ${state.losses.map((l) => l.toFixed(6)).join(' ')}`);
  t.log(`largest relative difference ${worst.toExponential(2)}`);
  t.true(worst <= 1e-5, `losses differ by ${worst} relative`);

  const downloads = new Map<string, string>();
  const wanted = ['adapter_model.safetensors', 'adapter_config.json'];
  const saving = new Promise<void>((resolve) => {
    page.on('download', async (d) => {
      const to = join(work, 'downloads', d.suggestedFilename());
      await d.saveAs(to);
      downloads.set(d.suggestedFilename(), to);
      if (wanted.every((w) => downloads.has(w))) resolve();
    });
  });
  await page.click('#download-adapter');
  await saving;
  const config = JSON.parse(readFileSync(downloads.get('adapter_config.json')!, 'utf8'));
  t.is(config.format, 'lor2c-adapter');
  const rows = join(work, 'three.jsonl');
  writeFileSync(rows, readFileSync(example.eval, 'utf8').split('\n').slice(0, 3).join('\n') + '\n');
  const out = lor2c('infer', example.artifacts, '--data', rows, '--adapter', downloads.get('adapter_model.safetensors')!);
  t.is(out.trim().split('\n').length, 3, out);
});
