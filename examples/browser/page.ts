/// <reference lib="dom" />
/**
 * The page: loads compiled artifacts and JSONL data (the bundled example or files the user
 * picks), trains them with lor2c's Trainer on onnxruntime-web, draws the loss as it goes,
 * evaluates, and offers the adapter (safetensors + config) and the last checkpoint as
 * downloads. Everything runs in the tab; the server only hands out static files.
 */
import { adapterConfig, encodeAdapter } from '../../runtime/adapter-config.ts';
import { webEngine, webgpuOffered, type WebProvider } from '../../runtime/engine/web.ts';
import { MemoryHost, needsCompiler } from '../../runtime/memory-host.ts';
import { parseManifest } from '../../runtime/artifacts-parse.ts';
import { Trainer } from '../../runtime/trainer.ts';
import type { StepRecord } from '../../runtime/log.ts';
import type { Metrics } from '../../runtime/evaluate.ts';
import type { Manifest } from '../../contract/manifest.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ARTIFACTS = 'artifacts';
const TRAIN = 'train.jsonl';
const EVAL = 'eval.jsonl';

/** What the page holds and has done; the browser test reads it too. */
interface PageState {
  files: Map<string, Uint8Array>;
  manifest?: Manifest;
  losses: number[];
  metrics?: Metrics;
  provider?: string;
  status: 'empty' | 'loaded' | 'training' | 'done' | 'error';
  error?: string;
}
const state: PageState = { files: new Map(), losses: [], status: 'empty' };
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
  const why = needsCompiler(manifest);
  if (why) throw new Error(why);
  state.manifest = manifest;
  const size = [...state.files.values()].reduce((s, b) => s + b.length, 0);
  $('loaded').textContent = `loaded ${state.files.size} files (${(size / 1024).toFixed(0)} KiB): ${manifest.task.kind} task, ${manifest.parameters.length} trainable tensors, batch ${manifest.training.batch}`;
  ($('steps') as HTMLInputElement).value = String(manifest.training.length.unit === 'steps' ? manifest.training.length.count : 40);
  ($('seed') as HTMLInputElement).value = String(manifest.training.seed);
  ($('train') as HTMLButtonElement).disabled = !state.files.has(TRAIN);
  state.status = 'loaded';
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function loadExample(): Promise<void> {
  state.files.clear();
  const manifestBytes = await fetchBytes('example/artifacts/manifest.json');
  const manifest = parseManifest(new TextDecoder().decode(manifestBytes), 'example/artifacts/manifest.json');
  state.files.set(`${ARTIFACTS}/manifest.json`, manifestBytes);
  const names = new Set([manifest.graphs.train.file, manifest.graphs.eval.file, manifest.weights, manifest.adapter]);
  for (const name of names) state.files.set(`${ARTIFACTS}/${name}`, await fetchBytes(`example/artifacts/${name}`));
  state.files.set(TRAIN, await fetchBytes(`example/${TRAIN}`));
  state.files.set(EVAL, await fetchBytes(`example/${EVAL}`));
  loaded();
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
  if (state.manifest) ($('train') as HTMLButtonElement).disabled = !state.files.has(TRAIN);
}

function providers(): WebProvider[] {
  const choice = ($('backend') as HTMLSelectElement).value;
  if (choice === 'wasm') return ['wasm'];
  if (choice === 'webgpu') return ['webgpu'];
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
  state.losses = [];
  state.metrics = undefined;
  state.status = 'training';
  ($('train') as HTMLButtonElement).disabled = true;
  ($('stop') as HTMLButtonElement).disabled = false;
  const progress = $('progress') as HTMLProgressElement;
  progress.max = steps;
  progress.value = 0;
  const engine = webEngine({ providers: providers(), wasmPaths: new URL('ort/', location.href).href, notice: (l) => log(l) });
  host = new MemoryHost(state.files, engine, (l) => log(l));
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
    progress: false,
    onStep: (rec: StepRecord) => {
      state.losses.push(rec.loss);
      progress.value = rec.step;
      drawChart(state.losses, steps);
      if (rec.eval) log(`eval @ step ${rec.step}: ${Object.entries(rec.eval).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}`);
    },
  }, host);
  const started = performance.now();
  const result = await trainer.run();
  const seconds = (performance.now() - started) / 1000;
  state.metrics = result.metrics ?? (trainer.manifest && state.files.has(EVAL) ? await trainer.evaluate() : undefined);
  state.provider = engine.name;
  log(`${result.status} at step ${result.step} in ${seconds.toFixed(1)} s: loss ${result.loss?.toFixed(4) ?? '-'}${result.problem ? `: ${result.problem}` : ''}`);
  $('metrics').textContent = state.metrics ? Object.entries(state.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('   ') : 'no evaluation data';
  state.status = result.status === 'nonfinite' ? 'error' : 'done';
  ($('download-adapter') as HTMLButtonElement).disabled = false;
  ($('download-checkpoint') as HTMLButtonElement).disabled = host.checkpoints.get('checkpoints')?.latest === undefined;
  ($('train') as HTMLButtonElement).disabled = false;
  ($('stop') as HTMLButtonElement).disabled = true;
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

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
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
for (const id of ['artifacts-files', 'train-file', 'eval-file']) $(id).addEventListener('change', guard(readPicked));
$('train').addEventListener('click', guard(train));
$('stop').addEventListener('click', () => trainer?.stop());
$('download-adapter').addEventListener('click', guard(downloadAdapter));
$('download-checkpoint').addEventListener('click', guard(downloadCheckpoint));
log(`ready: onnxruntime-web ${webgpuOffered() ? 'with WebGPU offered' : 'on wasm (this browser offers no WebGPU)'}`);
