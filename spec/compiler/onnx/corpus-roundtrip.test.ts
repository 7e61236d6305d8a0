/**
 * The foundation's judging criterion for ONNX I/O: every model of ONNX's backend test corpus
 * reads, converts to the IR and back, and writes out to exactly the bytes it came from; written
 * with external data, it reads back to the same model and ORT computes the same outputs.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, folderData, readModel, tensorRawBytes, writeModel } from '../../../compiler/onnx/index.ts';
import { modelFromProto, modelToProto } from '../../../compiler/graph/index.ts';
import { corpusAvailable, corpusCases, corpusDataSet } from '../../support/corpus.ts';
import { maxAbsDiff, ortTensor } from '../../support/ort.ts';

const run = corpusAvailable ? test : test.skip;
if (!corpusAvailable) console.log('libonnx-testdata is not installed: corpus tests skipped (apt-get install libonnx-testdata)');

run('every corpus model round-trips through the IR to identical bytes', (t) => {
  const cases = corpusCases();
  const differ: string[] = [];
  for (const c of cases) {
    const bytes = readFileSync(c.modelPath);
    const once = encodeModel(modelToProto(modelFromProto(decodeModel(bytes, { external: folderData(c.dir) }))));
    if (Buffer.compare(Buffer.from(once), bytes) !== 0) differ.push(c.id);
  }
  t.log(`${cases.length} models, ${differ.length} differ`);
  t.true(cases.length > 1000);
  t.deepEqual(differ, []);
});

run('models with weights written as external data read back identically and run the same in ORT', async (t) => {
  const cases = corpusCases(['pytorch-converted', 'pytorch-operator', 'simple']);
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-ext-'));
  let compared = 0;
  const failures: string[] = [];
  try {
    for (const c of cases) {
      const original = readModel(c.modelPath);
      if (original.graph!.initializer.length === 0) continue;
      const path = join(dir, `${c.id.replace('/', '_')}.onnx`);
      writeModel(original, path, { threshold: 0 }); // every tensor external
      const back = readModel(path);
      // Externalising moves typed fields (int64_data...) to raw bytes: same values, new encoding.
      // A second round trip must then be byte-stable.
      writeModel(back, path, { threshold: 0 });
      const again = readModel(path);
      if (Buffer.compare(Buffer.from(encodeModel(again)), Buffer.from(encodeModel(back))) !== 0) {
        failures.push(`${c.id}: differs after a second external-data round trip`);
        continue;
      }
      const changed = original.graph!.initializer.filter((w, i) => Buffer.compare(Buffer.from(tensorRawBytes(w)), Buffer.from(tensorRawBytes(back.graph!.initializer[i]!))) !== 0);
      if (changed.length) failures.push(`${c.id}: initializer '${changed[0]!.name}' changed value`);
      const data = corpusDataSet(c);
      if (!data) continue;
      let reference: ort.InferenceSession;
      try {
        reference = await ort.InferenceSession.create(c.modelPath);
      } catch {
        continue; // ORT cannot run this corpus model at all; nothing to compare
      }
      const external = await ort.InferenceSession.create(path);
      const feeds: Record<string, ort.Tensor> = {};
      reference.inputNames.forEach((name, i) => {
        const tensor = data.inputs[i] && ortTensor(data.inputs[i]!);
        if (tensor) feeds[name] = tensor;
      });
      const [a, b] = [await reference.run(feeds), await external.run(feeds)];
      for (const name of reference.outputNames) if (maxAbsDiff(a[name]!, b[name]!) !== 0) failures.push(`${c.id}: output '${name}' differs`);
      compared++;
      await reference.release();
      await external.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.log(`${compared} models run from external data and compared`);
  t.true(compared > 30);
  t.deepEqual(failures, []);
});
