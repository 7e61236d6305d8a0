/**
 * Shape inference vs onnxruntime over the whole libonnx-testdata corpus, the 'real' models
 * included (too slow for the test suite). Prints the counts and every disagreement.
 * Run: npx tsx bench/shapes-conformance.ts [folder...]
 */
import { corpusModels, formatReport, runCorpus } from '../spec/compiler/shapes/conformance.ts';

const folders = process.argv.length > 2 ? process.argv.slice(2) : ['node', 'pytorch-converted', 'pytorch-operator', 'simple', 'real'];
const started = Date.now();
const report = await runCorpus(corpusModels(folders), { intermediates: (dir) => !dir.includes('/node/') });
console.log(formatReport(report));
for (const d of report.disagreements) console.log(`DISAGREE ${d.mode} ${d.model} ${d.value}: inferred ${d.inferred}, ORT ${d.actual}`);
if (process.env.VERBOSE) {
  for (const f of report.ortFailed) console.log(`ORT FAILED ${f}`);
  for (const d of report.unknowns) console.log(`UNKNOWN ${d.mode} ${d.model} ${d.value}: inferred ${d.inferred}, ORT ${d.actual}`);
}
console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
