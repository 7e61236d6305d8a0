/**
 * The report in a real browser: Debian's chromium driven by playwright-core, headless. The page
 * loads with no console errors and no network, every chart's canvas has drawn pixels, and each
 * merge / injection is a mark on every chart and a line in the list.
 */
import test from 'ava';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartsOf, renderReport } from '../../../runtime/report/html.ts';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'lor2c-report-'));

function sampleLog() {
  const recs: ({ type: string; step: number } & Record<string, unknown>)[] = [{
    type: 'header', step: 0, lor2c: '0.1.0', artifacts: '/a', data: 'train.csv', evalData: 'dev.csv', started: '2026-01-01T00:00:00Z',
    task: { kind: 'classify', labelKey: 'label', logits: 'logits' }, optimizer: { kind: 'adamw', settings: { lr: 0.01 } },
    settings: { steps: 60, stepsPerEpoch: 20, batch: 8, accumulate: 1, seed: 1, evalEvery: 10 },
    parameters: [{ name: 'lor2c.m0.A', shape: [8, 64], role: 'lor2c.A', module: 'm0', count: 512, lrScale: 1 }, { name: 'classifier.weight', shape: [2, 64], role: 'extra', module: 'classifier.weight', count: 128, lrScale: 0.5 }],
    trainable: 640,
  }];
  for (let s = 1; s <= 60; s++) {
    const rec: { type: string; step: number } & Record<string, unknown> = { type: 'step', step: s, loss: 1 / Math.sqrt(s), lr: 0.01 * (1 - s / 60), seconds: 0.05, epoch: Math.floor((s - 1) / 20) };
    if (s % 10 === 0) Object.assign(rec, { eval: { loss: 0.9 - s / 100, accuracy: 0.5 + s / 150 }, sfs: s <= 20 ? { m0: s / 1000, m1: s / 900, m2: s / 800 } : { m3: s / 700, m2: s / 800 } });
    recs.push(rec);
    if (s === 20) recs.push({ type: 'merge', step: 20, pair: ['m0', 'm1'], sfs: { m0: 0.02, m1: 0.022, m2: 0.025 } });
    if (s === 40) recs.push({ type: 'inject', step: 40, module: 'm2', sfs: { m3: 0.05, m2: 0.04 } });
  }
  return recs;
}

test('charts: loss, lr, eval, SFS at evaluations and structural points, modules coming and going', (t) => {
  const charts = chartsOf(sampleLog());
  t.deepEqual(charts.map((c) => c.id), ['loss', 'lr', 'eval', 'sfs']);
  const sfs = charts.find((c) => c.id === 'sfs')!;
  t.deepEqual(sfs.series.map((s) => s.label), ['m0', 'm1', 'm2', 'm3']);
  t.deepEqual(sfs.x, [10, 20, 20, 30, 40, 40, 50, 60]);
  t.is(sfs.series[0]!.values[3], null, 'm0 is gone after the merge');
});

test('the page in headless chromium: no console errors, drawn canvases, merge / inject marks', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) return t.fail(`${CHROMIUM} is missing in CI (.ci/run installs chromium)`);
    t.log(`skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
    return t.pass();
  }
  const path = join(dir, 'report.html');
  writeFileSync(path, renderReport(sampleLog(), 'train-log.jsonl'));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto(`file://${path}`);
    await page.waitForSelector('#chart-sfs canvas');
    t.deepEqual(errors, []);
    t.deepEqual(requests, [], 'no network');
    // Runs in the page (the test's TypeScript has no DOM types).
    const drawn: { id: string; ink: number; markColour: number; marks: number }[] = await page.evaluate(() => [...(globalThis as any).document.querySelectorAll('.chart')].map((el: any) => {
      const c = el.querySelector('canvas');
      const px: Uint8ClampedArray = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let ink = 0, markColour = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3]! > 0) ink++;
        // the merge mark's purple (#8e44ad) and the inject mark's orange (#e67e22)
        if ((px[i] === 0x8e && px[i + 1] === 0x44 && px[i + 2] === 0xad) || (px[i] === 0xe6 && px[i + 1] === 0x7e && px[i + 2] === 0x22)) markColour++;
      }
      return { id: el.id, ink, markColour, marks: el.querySelectorAll('.mark').length };
    }));
    t.log(JSON.stringify(drawn));
    t.deepEqual(drawn.map((d) => d.id), ['chart-loss', 'chart-lr', 'chart-eval', 'chart-sfs']);
    for (const d of drawn) {
      t.true(d.ink > 2000, `${d.id}: ${d.ink} drawn pixels`);
      t.true(d.markColour > 50, `${d.id}: merge / inject marks drawn (${d.markColour} pixels)`);
      t.is(d.marks, 2);
    }
    t.deepEqual(await page.locator('li.event').allTextContents(), ['merge at step 20: pair ["m0","m1"]', 'inject at step 40: module m2']);
    t.is(await page.locator('table.params tbody tr').count(), 3);
    const shot = await page.screenshot({ fullPage: true, path: join(dir, 'report.png') });
    t.true(shot.length > 10_000);
  } finally {
    await browser.close();
  }
});
