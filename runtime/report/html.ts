/**
 * `lor2c report`: a training log as one self-contained HTML page (no network: uPlot, the chart
 * library, and its stylesheet are inlined from node_modules). Charts: training loss, learning
 * rate, evaluation metrics, and SFS per LoR2C module, each with every merge / injection drawn as
 * a vertical mark at its step (and listed under the charts); then the run's settings and the
 * parameter table from the log's header record.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { HeaderRecord } from './run-record.ts';

type LogRecord = { type: string; step: number } & Record<string, unknown>;

export interface Series { label: string; values: (number | null)[] }
export interface Chart { id: string; title: string; x: number[]; series: Series[] }

const STRUCTURAL = /merge|inject/;

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The charts a log makes (exported for tests). */
export function chartsOf(records: readonly LogRecord[]): Chart[] {
  const steps = records.filter((r) => r.type === 'step');
  const x = steps.map((r) => r.step);
  const charts: Chart[] = [
    { id: 'loss', title: 'training loss', x, series: [{ label: 'loss', values: steps.map((r) => num(r.loss)) }] },
  ];
  if (steps.some((r) => num(r.lr) !== null)) charts.push({ id: 'lr', title: 'learning rate', x, series: [{ label: 'lr', values: steps.map((r) => num(r.lr)) }] });
  const evals = steps.filter((r) => r.eval && typeof r.eval === 'object');
  if (evals.length > 0) {
    const keys = [...new Set(evals.flatMap((r) => Object.keys(r.eval as object)))];
    charts.push({ id: 'eval', title: 'evaluation', x: evals.map((r) => r.step), series: keys.map((k) => ({ label: k, values: evals.map((r) => num((r.eval as Record<string, unknown>)[k])) })) });
  }
  // SFS: at evaluations and at every structural point (modules come and go with merges).
  const sfsPoints = records.filter((r) => r.sfs && typeof r.sfs === 'object').sort((a, b) => a.step - b.step || (a.type === 'step' ? -1 : 1));
  if (sfsPoints.length > 0) {
    const modules = [...new Set(sfsPoints.flatMap((r) => Object.keys(r.sfs as object)))];
    charts.push({ id: 'sfs', title: 'SFS per LoR2C module', x: sfsPoints.map((r) => r.step), series: modules.map((m) => ({ label: m, values: sfsPoints.map((r) => num((r.sfs as Record<string, unknown>)[m])) })) });
  }
  return charts;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

function describeEvent(e: LogRecord): string {
  const rest = Object.entries(e).filter(([k]) => k !== 'type' && k !== 'step' && k !== 'sfs').map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${e.type} at step ${e.step}${rest.length ? `: ${rest.join(', ')}` : ''}`;
}

export function renderReport(records: readonly LogRecord[], source: string): string {
  const require = createRequire(import.meta.url);
  const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const header = records.find((r) => r.type === 'header') as unknown as HeaderRecord | undefined;
  const events = records.filter((r) => STRUCTURAL.test(r.type));
  const charts = chartsOf(records);
  const steps = records.filter((r) => r.type === 'step');
  const last = steps.at(-1);
  const seconds = steps.reduce((s, r) => s + (num(r.seconds) ?? 0), 0);
  const settings = header
    ? `<table class="kv"><tbody>${[
        ['task', `${header.task.kind} (logits ${header.task.logits}, labels ${header.task.labelKey})`],
        ['optimizer', `${header.optimizer.kind} ${Object.entries(header.optimizer.settings).map(([k, v]) => `${k} ${v}`).join(', ')}`],
        ['steps', `${header.settings.steps} (${header.settings.stepsPerEpoch} an epoch), batch ${header.settings.batch}${header.settings.accumulate > 1 ? ` x ${header.settings.accumulate}` : ''}, seed ${header.settings.seed}`],
        ['data', `${header.data}${header.evalData ? `; evaluation ${header.evalData}` : ''}`],
        ['artifacts', header.artifacts],
        ['started', `${header.started} (lor2c ${header.lor2c})`],
      ].map(([k, v]) => `<tr><th>${escapeHtml(k!)}</th><td>${escapeHtml(v!)}</td></tr>`).join('')}</tbody></table>`
    : '<p>This log has no header record (written by an older lor2c): no settings or parameter table.</p>';
  const params = header
    ? `<table class="params"><thead><tr><th>parameter</th><th>role</th><th>module</th><th>shape</th><th>count</th><th>lr scale</th></tr></thead><tbody>${header.parameters.map((p) => `<tr><td>${escapeHtml(p.name)}</td><td>${escapeHtml(p.role)}</td><td>${escapeHtml(p.module)}</td><td>[${p.shape.join(', ')}]</td><td class="n">${p.count.toLocaleString('en-US')}</td><td class="n">${p.lrScale}</td></tr>`).join('')}<tr class="total"><td colspan="4">trainable at the start</td><td class="n">${header.trainable.toLocaleString('en-US')}</td><td></td></tr></tbody></table>`
    : '';
  const summary = last ? `${steps.length} steps logged, last loss ${num(last.loss)?.toFixed(4) ?? '-'}, ${seconds.toFixed(1)} s of steps${events.length ? `, ${events.length} structural event${events.length > 1 ? 's' : ''}` : ''}` : 'no steps logged';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lor2c report: ${escapeHtml(source)}</title>
<style>${uplotCss}
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.chart{margin:12px 0 24px}table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold}ul.events li{margin:2px 0}
</style></head><body>
<h1>lor2c training report</h1>
<p>${escapeHtml(source)}: ${escapeHtml(summary)}</p>
<div id="charts"></div>
<h2>Merges and injections</h2>
${events.length ? `<ul class="events">${events.map((e) => `<li class="event" data-step="${e.step}">${escapeHtml(describeEvent(e))}</li>`).join('')}</ul>` : '<p>none in this run</p>'}
<h2>Run</h2>
${settings}
<h2>Parameters</h2>
${params}
<script>${uplotJs}</script>
<script>
const charts = ${scriptJson(charts)};
const events = ${scriptJson(events.map((e) => ({ step: e.step, type: e.type })))};
const colors = ['#1f77b4','#d62728','#2ca02c','#9467bd','#ff7f0e','#17becf','#8c564b','#e377c2','#7f7f7f','#bcbd22'];
// Merges / injections: a dashed vertical line at the step, drawn on every chart.
const marks = (u) => {
  const ctx = u.ctx;
  ctx.save();
  for (const e of events) {
    const x = u.valToPos(e.step, 'x', true);
    if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) continue;
    ctx.strokeStyle = e.type.includes('inject') ? '#e67e22' : '#8e44ad';
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
  }
  ctx.restore();
};
for (const c of charts) {
  const el = document.createElement('div');
  el.className = 'chart';
  el.id = 'chart-' + c.id;
  document.getElementById('charts').appendChild(el);
  const xs = events.map((e) => e.step).concat(c.x);
  new uPlot({
    title: c.title, width: Math.min(900, window.innerWidth - 60), height: 260,
    scales: { x: { time: false, range: [Math.min(...xs), Math.max(...xs)] } },
    axes: [{ label: 'step' }, {}],
    series: [{ label: 'step' }].concat(c.series.map((s, i) => ({ label: s.label, stroke: colors[i % colors.length], width: 2, spanGaps: true, points: { show: c.x.length < 40 } }))),
    hooks: { draw: [marks] },
  }, [c.x].concat(c.series.map((s) => s.values)), el);
  for (const e of events) {
    const m = document.createElement('span');
    m.className = 'mark'; m.dataset.step = e.step; m.dataset.type = e.type; m.hidden = true;
    el.appendChild(m);
  }
}
</script>
</body></html>
`;
}
