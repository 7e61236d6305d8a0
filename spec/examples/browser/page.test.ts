/**
 * The browser page in a real browser: Debian's chromium, headless, driven by playwright-core
 * against the page served on 127.0.0.1. The bundle is built here (and must import no node:
 * module), the example is compiled by `lor2c compile`, the page trains it on
 * onnxruntime-web's wasm backend, and its losses are compared with `lor2c train` in Node on the
 * same artifacts, seed and data; the adapter the page downloads must load with `lor2c infer`.
 * Skipped (with the reason) where chromium is not installed.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// One build and one compile of the examples serve every test.
const built = buildPage();
const shared = mkdtempSync(join(tmpdir(), 'lor2c-browser-example-'));
test.after.always(() => rmSync(shared, { recursive: true, force: true }));
let prepared: ReturnType<typeof prepareExample> | undefined;
const theExample = () => (prepared ??= prepareExample(join(shared, 'example')));

test('the page bundle imports no node: module', async (t) => {
  const page = await built;
  t.deepEqual(page.nodeImports, []);
  t.true(page.inputs.some((i) => i.endsWith('runtime/trainer.ts')), 'the trainer itself is in the bundle');
});

const haveChromium = existsSync(CHROMIUM);

interface PageResult { status: string; error?: string; losses: number[]; events: Record<string, unknown>[]; metrics?: Record<string, number>; provider?: string }
type Page = Awaited<ReturnType<Awaited<ReturnType<typeof chromium.launchPersistentContext>>['newPage']>>;

/** Chromium without a GPU and without network chatter (the page's wasm runs). */
const CPU_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A scratch folder, the built page served on a free port and a chromium profile, all removed when the test ends. */
async function openBrowser(t: ExecutionContext, tag: string, args: string[] = CPU_ARGS) {
  const work = mkdtempSync(join(tmpdir(), `lor2c-browser-${tag}`));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const example = theExample();
  await built;
  const { server, url } = await serve({ example: example.dir, port: 0 });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const context = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: CHROMIUM, headless: true, acceptDownloads: true, args });
  t.teardown(() => context.close());
  return { work, example, url, context };
}

/** Loads an example in a fresh page and trains it; `resume` names checkpoint files to pick first. */
async function trainInPage(page: Page, url: string, opts: { example: string; steps: number; stopAfter?: number; resume?: string[]; backend?: string; timeoutMs?: number }): Promise<PageResult> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.selectOption('#example', opts.example);
  await page.click('#load-example');
  await page.waitForFunction(() => { const s = (window as unknown as { lor2c: { status: string; base?: unknown; needsBase?: string } }).lor2c; return s.status === 'error' || (s.status !== 'empty' && (!s.needsBase || s.base !== undefined)); });
  if (opts.resume) await page.setInputFiles('#resume-files', opts.resume);
  await page.fill('#steps', String(opts.steps));
  if (opts.stopAfter) await page.fill('#stop-after', String(opts.stopAfter));
  await page.selectOption('#backend', opts.backend ?? 'wasm');
  await page.click('#train');
  await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as { lor2c: { status: string } }).lor2c.status), undefined, { timeout: opts.timeoutMs ?? 60_000 });
  const state = await page.evaluate(() => { const s = (window as unknown as { lor2c: PageResult }).lor2c; return { status: s.status, error: s.error, losses: s.losses, events: s.events, metrics: s.metrics, provider: s.provider }; });
  if (state.status !== 'done') throw new Error(`${state.error ?? ''} ${errors.join('; ')} ${await page.textContent('#log')}`);
  return state;
}

/** Saves the files the page offers on clicking `button`, until `count` have come. */
async function downloads(page: Page, button: string, count: number, to: string): Promise<Map<string, string>> {
  const saved = new Map<string, string>();
  const done = new Promise<void>((resolve) => {
    page.on('download', async (d) => {
      const file = join(to, d.suggestedFilename());
      await d.saveAs(file);
      saved.set(d.suggestedFilename(), file);
      if (saved.size === count) resolve();
    });
  });
  await page.click(button);
  await done;
  return saved;
}

function worstRelative(a: number[], b: number[]): number {
  return Math.max(...a.map((l, i) => Math.abs(l - b[i]!) / Math.abs(l)));
}

function nodeRun(artifacts: string, data: string, steps: number, seed: number, logFile: string, ...more: string[]): { losses: number[]; events: Record<string, unknown>[] } {
  lor2c('train', artifacts, '--data', data, '--steps', String(steps), '--seed', String(seed), '--threads', '1', '--log', logFile, ...more);
  const records = readTrainingLog(logFile);
  return { losses: records.filter((r) => r.type === 'step').map((r) => r.loss as number), events: records.filter((r) => ['merge', 'inject', 'merge+inject'].includes(r.type as string)) as Record<string, unknown>[] };
}

/** What a structural event decided: which modules merged into what, which was replaced by LoRA, at which step. */
const decision = (e: Record<string, unknown>) => ({ type: e.type, step: e.step, merged: e.merged, into: e.into, injected: e.injected, rank: e.rank, parameters: e.parameters });

(haveChromium ? test : test.skip)(`Merge + Inject recompile in chromium as in lor2c train (same decisions, same losses); a checkpoint resumes in the page and in Node`, async (t) => {
  const { work, example, url, context } = await openBrowser(t, 'dyn-');
  const seed = JSON.parse(readFileSync(join(example.dynamic, 'manifest.json'), 'utf8')).training.seed as number;

  // Merge after step 3, inject after step 5: the page recompiles with the bundled compiler.
  const dyn = await trainInPage(await context.newPage(), url, { example: 'dynamic', steps: STEPS });
  const nodeDyn = nodeRun(example.dynamic, example.train, STEPS, seed, join(work, 'dyn.jsonl'));
  t.log(`node  ${nodeDyn.losses.map((l) => l.toFixed(6)).join(' ')}`);
  t.log(`page  ${dyn.losses.map((l) => l.toFixed(6)).join(' ')}`);
  t.log(`events ${JSON.stringify(dyn.events.map(decision))}`);
  t.deepEqual(dyn.events.map(decision), nodeDyn.events.map(decision));
  t.deepEqual(dyn.events.map((e) => e.type), ['merge', 'inject'], 'the schedule fired in the page');
  t.is(typeof dyn.events[1]!.injected, 'string', 'a module was replaced by LoRA');
  const worstDyn = worstRelative(nodeDyn.losses, dyn.losses);
  t.log(`Merge + Inject: largest relative loss difference ${worstDyn.toExponential(2)}`);
  t.is(dyn.losses.length, STEPS);
  t.true(worstDyn <= 1e-5, `losses differ by ${worstDyn} relative`);

  // Resume: 4 steps of an 8-step run, the checkpoint downloaded, then resumed for the other 4.
  const straight = nodeRun(example.artifacts, example.train, STEPS, seed, join(work, 'straight.jsonl'));
  const first = await context.newPage();
  const part = await trainInPage(first, url, { example: 'artifacts', steps: STEPS, stopAfter: STEPS / 2 });
  t.is(part.losses.length, STEPS / 2);
  const ckpt = await downloads(first, '#download-checkpoint', 3, join(work, 'ckpt'));
  const rest = await trainInPage(await context.newPage(), url, { example: 'artifacts', steps: STEPS, resume: [...ckpt.values()] });
  t.is(rest.losses.length, STEPS / 2, 'resumed at step 4');
  const resumed = [...part.losses, ...rest.losses];
  const worstResume = worstRelative(straight.losses, resumed);
  t.log(`page 4 + resume 4: ${resumed.map((l) => l.toFixed(6)).join(' ')} (node straight: largest relative difference ${worstResume.toExponential(2)})`);
  t.true(worstResume <= 1e-5, `resumed losses differ by ${worstResume} relative`);
  // Within the page, resuming is exact: the same kernels on the same values as a straight run.
  const straightPage = await trainInPage(await context.newPage(), url, { example: 'artifacts', steps: STEPS });
  t.deepEqual(resumed, straightPage.losses, 'page 4 + resume 4 equals the page\'s straight 8 steps bit for bit');

  // The page's checkpoint resumes in Node, with the files renamed as lor2c train writes them.
  const dir = join(work, 'node-ckpt', 'step-00000004');
  mkdirSync(dir, { recursive: true });
  for (const [name, file] of ckpt) copyFileSync(file, join(dir, name.replace(/^step-\d+-/, '')));
  const inNode = nodeRun(example.artifacts, example.train, STEPS, seed, join(work, 'resumed.jsonl'), '--resume', dir);
  const worstNode = worstRelative(straight.losses.slice(STEPS / 2), inNode.losses);
  t.is(inNode.losses.length, STEPS / 2);
  t.log(`page checkpoint resumed by lor2c train: ${inNode.losses.map((l) => l.toFixed(6)).join(' ')} (largest relative difference ${worstNode.toExponential(2)})`);
  t.true(worstNode <= 1e-5, `losses after resuming in Node differ by ${worstNode} relative`);
});

(haveChromium ? test : test.skip)(`${STEPS} steps in chromium give lor2c train's losses; the downloaded adapter loads with lor2c infer`, async (t) => {
  const { work, example, url, context } = await openBrowser(t, '');
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

// Debian's chromium gives a WebGPU adapter headless on the CPU through SwiftShader (Vulkan in
// software) with these flags; onnxruntime-web's WebGPU kernels then run the train graph.
const WEBGPU_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WEBGPU_STEPS = 4;
(haveChromium ? test : test.skip)(`${WEBGPU_STEPS} steps with the WebGPU provider (SwiftShader): lor2c train's losses within 1e-3, or wasm with a visible notice`, async (t) => {
  const { work, example, url, context } = await openBrowser(t, 'gpu-', WEBGPU_ARGS);
  const page = await context.newPage();
  // Vulkan in software on a 2-core machine shared with the other test files: a minute was
  // once not enough for the 4 steps.
  const gpu = await trainInPage(page, url, { example: 'artifacts', steps: WEBGPU_STEPS, backend: 'webgpu', timeoutMs: 180_000 });
  const seed = JSON.parse(readFileSync(join(example.artifacts, 'manifest.json'), 'utf8')).training.seed as number;
  const node = nodeRun(example.artifacts, example.train, WEBGPU_STEPS, seed, join(work, 'node.jsonl'));
  const worst = worstRelative(node.losses, gpu.losses);
  t.log(`provider ${gpu.provider}; node ${node.losses.map((l) => l.toFixed(6)).join(' ')}; page ${gpu.losses.map((l) => l.toFixed(6)).join(' ')}; largest relative difference ${worst.toExponential(2)}`);
  if (gpu.provider !== 'webgpu') t.regex((await page.textContent('#log')) ?? '', /webgpu could not run|offers no WebGPU/, 'the fallback to wasm is said on the page');
  t.true(worst <= 1e-3, `losses differ by ${worst} relative`);
});
