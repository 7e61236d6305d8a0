/// <reference lib="dom" />
/**
 * The page: loads compiled artifacts and JSONL data (the bundled example or files the user
 * picks), trains them with lor2c's Trainer on onnxruntime-web, draws the loss as it goes,
 * evaluates, and offers the adapter (safetensors + config) and the last checkpoint as
 * downloads. Everything runs in the tab; the server only hands out static files.
 */
import { adapterConfig, encodeAdapter } from '../../runtime/adapter-config.ts';
import { webEngine, webgpuOffered, type WebProvider } from '../../runtime/engine/web.ts';
import { MemoryHost, needsBaseModel, type BaseModelBytes } from '../../runtime/memory-host.ts';
import { parseManifest } from '../../runtime/artifacts-parse.ts';
import { Trainer } from '../../runtime/trainer.ts';
import type { EventRecord, StepRecord } from '../../runtime/log.ts';
import { OPTIMIZER_FILE, PARAMS_FILE, STATE_FILE } from '../../runtime/checkpoint-files.ts';
import type { Metrics } from '../../runtime/evaluate.ts';
import type { Manifest } from '../../contract/manifest.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ARTIFACTS = 'artifacts';
const TRAIN = 'train.jsonl';
const EVAL = 'eval.jsonl';
/** Where a picked checkpoint's files are held. */
const RESUME = 'resume';
const LOG = 'training.log';
/** The structural changes a log records (dynamic.ts's event types). */
const STRUCTURAL = new Set(['merge', 'inject', 'merge+inject']);

/** What the page holds and has done; the browser test reads it too. */
interface PageState {
  files: Map<string, Uint8Array>;
  manifest?: Manifest;
  losses: number[];
  /** Merge / Inject events of the last run, as `lor2c train` logs them. */
  events: EventRecord[];
  metrics?: Metrics;
  /** The base model, for artifacts that schedule Merge / Inject. */
  base?: BaseModelBytes;
  /** Why the artifacts need the base model (shown until it is loaded). */
  needsBase?: string;
  /** The step of the checkpoint picked to resume from. */
  resumeStep?: number;
  provider?: string;
  status: 'empty' | 'loaded' | 'training' | 'done' | 'error';
  error?: string;
}
const state: PageState = { files: new Map(), losses: [], events: [], status: 'empty' };
(window as unknown as { lor2c: PageState }).lor2c = state;
let trainer: Trainer | undefined;
let host: MemoryHost | undefined;

function log(line: string, error = false): void {
  const div = document.createElement('div');
  div.textContent = line;
  if (error) div.className = 'error';
  $('log').append(div);
  $('log').scrollTop = $('log').scrollHeight;
}

function fail(e: unknown): void {
  state.status = 'error';
  state.error = (e as Error).message;
  const hint = (e as { hint?: string }).hint;
  log(`error: ${state.error}${hint ? ` (${hint})` : ''}`, true);
}

/** Checks the artifacts as soon as they are loaded, so a bad folder is refused before training. */
function loaded(): void {
  const text = state.files.get(`${ARTIFACTS}/manifest.json`);
  if (!text) throw new Error('the artifacts folder has no manifest.json (choose the folder `lor2c compile --out` wrote)');
  const manifest = parseManifest(new TextDecoder().decode(text), 'manifest.json');
  state.manifest = manifest;
  state.needsBase = needsBaseModel(manifest);
  if (state.base && state.base.sha256 !== manifest.base.sha256) state.base = undefined;
  const size = [...state.files.values()].reduce((s, b) => s + b.length, 0);
  $('loaded').textContent = `loaded ${state.files.size} files (${(size / 1024).toFixed(0)} KiB): ${manifest.task.kind} task, ${manifest.parameters.length} trainable tensors, batch ${manifest.training.batch}`;
  ($('steps') as HTMLInputElement).value = String(manifest.training.length.unit === 'steps' ? manifest.training.length.count : 40);
  ($('seed') as HTMLInputElement).value = String(manifest.training.seed);
  if (state.needsBase && !state.base) log(`${state.needsBase}: load it as the base model`);
  ready();
  state.status = 'loaded';
}

/** Training can start once the data (and the base model the artifacts need) are there. */
function ready(): void {
  ($('train') as HTMLButtonElement).disabled = !state.manifest || !state.files.has(TRAIN) || (state.needsBase !== undefined && !state.base);
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The base model (.onnx) and its data files; refused when it is not the one the artifacts were compiled from. */
async function loadBase(files: { name: string; bytes: Uint8Array }[]): Promise<void> {
  const models = files.filter((f) => f.name.endsWith('.onnx'));
  if (models.length !== 1) throw new Error(`choose one base model (.onnx) and its data files, got ${models.length} .onnx files`);
  const model = models[0]!;
  const base: BaseModelBytes = { name: model.name, bytes: model.bytes, sha256: await sha256(model.bytes), externalData: new Map(files.filter((f) => f !== model).map((f) => [f.name, f.bytes])) };
  const expected = state.manifest?.base.sha256;
  if (expected && base.sha256 !== expected) throw new Error(`${model.name} is not the base model these artifacts were compiled from (sha256 ${base.sha256.slice(0, 12)}..., the artifacts' ${expected.slice(0, 12)}...)`);
  state.base = base;
  log(`base model ${model.name} (${(model.bytes.length / 1024).toFixed(0)} KiB) loaded for Merge / Inject`);
  ready();
}

/**
 * A checkpoint to resume from: its three files, as the page downloads them
 * ('step-00000004-params.safetensors') or as `lor2c train` writes them.
 */
function loadResume(files: { name: string; bytes: Uint8Array }[]): void {
  for (const key of [...state.files.keys()]) if (key.startsWith(`${RESUME}/`)) state.files.delete(key);
  for (const wanted of [PARAMS_FILE, OPTIMIZER_FILE, STATE_FILE]) {
    const found = files.filter((f) => f.name === wanted || f.name.endsWith(`-${wanted}`));
    if (found.length !== 1) throw new Error(`the checkpoint needs exactly one ${wanted} (got ${found.length}): choose its params.safetensors, optimizer.safetensors and state.json`);
    state.files.set(`${RESUME}/${wanted}`, found[0]!.bytes);
  }
  const step = (JSON.parse(new TextDecoder().decode(state.files.get(`${RESUME}/${STATE_FILE}`))) as { step?: unknown }).step;
  state.resumeStep = typeof step === 'number' ? step : undefined;
  log(`resuming from the checkpoint at step ${String(step)} (train to a total step count above it)`);
}

async function pickedFiles(id: string): Promise<{ name: string; bytes: Uint8Array }[]> {
  const input = $(id) as HTMLInputElement;
  const files = await Promise.all(Array.from(input.files ?? []).map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
  input.value = '';
  return files;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function loadExample(): Promise<void> {
  state.files.clear();
  state.base = undefined;
  state.resumeStep = undefined;
  const folder = ($('example') as HTMLSelectElement).value;
  const manifestBytes = await fetchBytes(`example/${folder}/manifest.json`);
  const manifest = parseManifest(new TextDecoder().decode(manifestBytes), `example/${folder}/manifest.json`);
  state.files.set(`${ARTIFACTS}/manifest.json`, manifestBytes);
  const names = new Set([manifest.graphs.train.file, manifest.graphs.eval.file, ...(manifest.graphs.update ? [manifest.graphs.update.file] : []), manifest.weights, manifest.adapter]);
  for (const name of names) state.files.set(`${ARTIFACTS}/${name}`, await fetchBytes(`example/${folder}/${name}`));
  state.files.set(TRAIN, await fetchBytes(`example/${TRAIN}`));
  state.files.set(EVAL, await fetchBytes(`example/${EVAL}`));
  loaded();
  if (state.needsBase) {
    const name = manifest.base.path.split(/[\\/]/).pop()!;
    await loadBase([{ name, bytes: await fetchBytes(`example/${name}`) }]);
  }
}

async function readPicked(): Promise<void> {
  const picked = ($('artifacts-files') as HTMLInputElement).files;
  if (picked?.length) {
    for (const key of [...state.files.keys()]) if (key.startsWith(`${ARTIFACTS}/`)) state.files.delete(key);
    // A folder pick names files 'folder/file'; the artifacts are the files directly in it.
    for (const f of Array.from(picked)) state.files.set(`${ARTIFACTS}/${f.name}`, new Uint8Array(await f.arrayBuffer()));
    ($('artifacts-files') as HTMLInputElement).value = '';
    loaded();
  }
  const train = ($('train-file') as HTMLInputElement).files?.[0];
  if (train) state.files.set(TRAIN, new Uint8Array(await train.arrayBuffer()));
  const evalFile = ($('eval-file') as HTMLInputElement).files?.[0];
  if (evalFile) state.files.set(EVAL, new Uint8Array(await evalFile.arrayBuffer()));
  const base = await pickedFiles('base-files');
  if (base.length) await loadBase(base);
  const resume = await pickedFiles('resume-files');
  if (resume.length) loadResume(resume);
  ready();
}

function providers(): WebProvider[] {
  const choice = ($('backend') as HTMLSelectElement).value;
  if (choice === 'wasm') return ['wasm'];
  // Asked for WebGPU: wasm still runs where WebGPU is absent or fails, with a notice (web.ts).
  if (choice === 'webgpu') return ['webgpu', 'wasm'];
  return webgpuOffered() ? ['webgpu', 'wasm'] : ['wasm'];
}

function drawChart(losses: number[], total: number): void {
  const canvas = $('chart') as HTMLCanvasElement;
  const g = canvas.getContext('2d')!;
  const { width, height } = canvas;
  g.clearRect(0, 0, width, height);
  if (losses.length === 0) return;
  const max = Math.max(...losses), min = Math.min(0, ...losses);
  const x = (i: number) => 40 + ((width - 50) * i) / Math.max(1, total - 1);
  const y = (v: number) => 10 + (height - 30) * (1 - (v - min) / (max - min || 1));
  g.fillStyle = '#555';
  g.font = '11px sans-serif';
  g.fillText(max.toFixed(3), 2, 14);
  g.fillText(min.toFixed(3), 2, height - 20);
  g.fillText(`step ${losses.length}/${total}  loss ${losses.at(-1)!.toFixed(4)}`, 44, height - 4);
  g.strokeStyle = '#1565c0';
  g.lineWidth = 1.5;
  g.beginPath();
  losses.forEach((v, i) => (i === 0 ? g.moveTo(x(i), y(v)) : g.lineTo(x(i), y(v))));
  g.stroke();
}

async function train(): Promise<void> {
  await readPicked();
  const steps = Number(($('steps') as HTMLInputElement).value);
  const seed = Number(($('seed') as HTMLInputElement).value);
  const stopAfter = Number(($('stop-after') as HTMLInputElement).value) || undefined;
  state.losses = [];
  state.events = [];
  state.metrics = undefined;
  state.status = 'training';
  ($('train') as HTMLButtonElement).disabled = true;
  ($('stop') as HTMLButtonElement).disabled = false;
  const progress = $('progress') as HTMLProgressElement;
  progress.max = steps;
  progress.value = 0;
  const web = webEngine({ providers: providers(), wasmPaths: new URL('ort/', location.href).href, notice: (l) => log(l) });
  // The provider each graph actually runs on (WebGPU may be refused and wasm used instead).
  const engine: typeof web = { name: web.name, open: async (m) => { const s = await web.open(m); state.provider = s.provider; return s; } };
  host = new MemoryHost(state.files, engine, (l) => log(l), state.base);
  const resume = state.files.has(`${RESUME}/${STATE_FILE}`) ? RESUME : undefined;
  const manifest = state.manifest!;
  trainer = await Trainer.open({
    artifacts: ARTIFACTS,
    data: TRAIN,
    evalData: state.files.has(EVAL) ? EVAL : undefined,
    steps,
    seed,
    batchSize: manifest.training.batch,
    evalEvery: manifest.training.evalEvery?.unit === 'steps' ? manifest.training.evalEvery.count : undefined,
    checkpoint: 'checkpoints',
    resume,
    log: LOG,
    progress: false,
    onStep: (rec: StepRecord) => {
      state.losses.push(rec.loss);
      if (rec.step === stopAfter) trainer?.stop();
      progress.value = rec.step;
      drawChart(state.losses, steps);
      if (rec.eval) log(`eval @ step ${rec.step}: ${Object.entries(rec.eval).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}`);
    },
  }, host);
  const started = performance.now();
  const result = await trainer.run();
  const seconds = (performance.now() - started) / 1000;
  state.events = (host.logs.get(LOG) ?? []).filter((r): r is EventRecord => STRUCTURAL.has((r as EventRecord).type as string)) as EventRecord[];
  for (const e of state.events) log(`${e.type} at step ${e.step}: ${describeEvent(e)}`);
  state.metrics = result.metrics ?? (trainer.manifest && state.files.has(EVAL) ? await trainer.evaluate() : undefined);
  log(`${result.status} at step ${result.step} in ${seconds.toFixed(1)} s on ${state.provider ?? '-'}: loss ${result.loss?.toFixed(4) ?? '-'}${result.problem ? `: ${result.problem}` : ''}`);
  $('metrics').textContent = state.metrics ? Object.entries(state.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('   ') : 'no evaluation data';
  state.status = result.status === 'nonfinite' ? 'error' : 'done';
  ($('download-adapter') as HTMLButtonElement).disabled = false;
  ($('download-checkpoint') as HTMLButtonElement).disabled = host.checkpoints.get('checkpoints')?.latest === undefined;
  ($('train') as HTMLButtonElement).disabled = false;
  ($('stop') as HTMLButtonElement).disabled = true;
}

/** One line for a Merge / Inject event: what merged into what, what was injected. */
function describeEvent(e: EventRecord): string {
  const parts: string[] = [];
  if (Array.isArray(e.merged)) parts.push(`merged ${e.merged.join(' + ')} into ${String(e.into)}`);
  else if ('merged' in e) parts.push(`no merge (${String(e.reason)})`);
  if (typeof e.injected === 'string') parts.push(`LoRA rank ${String(e.rank)} injected in place of ${e.injected}`);
  else if ('injected' in e) parts.push(`no injection (${String(e.reason)})`);
  return `${parts.join('; ')} (recompiled in ${String(e.recompileSeconds)} s)`;
}

function download(name: string, bytes: Uint8Array | string): void {
  const blob = new Blob([bytes as BlobPart], { type: typeof bytes === 'string' ? 'application/json' : 'application/octet-stream' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** PEFT's layout: adapter_model.safetensors and adapter_config.json, as `lor2c export --adapter` writes them. */
async function downloadAdapter(): Promise<void> {
  if (!trainer) return;
  const bytes = encodeAdapter(trainer.manifest, trainer.parameters());
  const config = adapterConfig(trainer.manifest, { file: 'adapter_model.safetensors', sha256: await sha256(bytes), source: { kind: 'values' } });
  download('adapter_model.safetensors', bytes);
  download('adapter_config.json', `${JSON.stringify(config, null, 2)}\n`);
}

function downloadCheckpoint(): void {
  const latest = host?.checkpoints.get('checkpoints')?.latest;
  if (!latest) return;
  for (const f of latest.files) download(`${latest.name}-${f.name}`, f.bytes);
}

const guard = (f: () => Promise<void> | void) => () => {
  Promise.resolve().then(f).catch(fail);
};
$('load-example').addEventListener('click', guard(loadExample));
for (const id of ['artifacts-files', 'train-file', 'eval-file', 'base-files', 'resume-files']) $(id).addEventListener('change', guard(readPicked));
$('train').addEventListener('click', guard(train));
$('stop').addEventListener('click', () => trainer?.stop());
$('download-adapter').addEventListener('click', guard(downloadAdapter));
$('download-checkpoint').addEventListener('click', guard(downloadCheckpoint));
log(`ready: onnxruntime-web ${webgpuOffered() ? 'with WebGPU offered' : 'on wasm (this browser offers no WebGPU)'}`);
