/**
 * THE conformance check: over ONNX's backend test corpus, every dtype and shape inference
 * states must equal what onnxruntime produces (node outputs of the pytorch and simple models
 * included). Unknown is allowed; wrong is not. Skips where libonnx-testdata is not installed.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { CORPUS, corpusModels, formatReport, runCorpus } from './conformance.ts';

const FOLDERS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];

if (!existsSync(CORPUS)) {
  test('shape inference agrees with onnxruntime over libonnx-testdata', (t) => {
    t.log(`${CORPUS} is missing (apt-get install libonnx-testdata): skipped`);
    t.pass();
  });
} else {
  test('shape inference agrees with onnxruntime over libonnx-testdata', async (t) => {
    const report = await runCorpus(corpusModels(FOLDERS), { intermediates: (dir) => !dir.includes('/node/') });
    t.log(formatReport(report));
    for (const d of report.disagreements) t.log(`DISAGREE (${d.mode}) ${d.model} ${d.value}: inferred ${d.inferred}, ORT ${d.actual}`);
    t.true(report.models > 900, `only ${report.models} models ran in ORT`);
    t.is(report.disagreements.length, 0);
    // Unknown must stay rare with real dims known: the remaining unknowns are data-dependent sizes.
    const c = report.counts.concrete;
    t.true(c.unknown / (c.agree + c.unknown) < 0.05, `${c.unknown} of ${c.agree + c.unknown} values unknown`);
  });
}
