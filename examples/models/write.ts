/**
 * Writes one test model to disk:
 *   npx tsx examples/models/write.ts bert --layers 2 --out /tmp/bert.onnx
 *   npx tsx examples/models/write.ts bert --head classifier --weights-from encoder.onnx ... --out cls.onnx
 * Flags are the config fields in kebab case (see write-args.ts); weights of 1 MiB or more
 * go to external data beside the model.
 */
import { isUserError } from '../../contract/errors.ts';
import { elementCount, readModel, writeModel } from '../../compiler/onnx/index.ts';
import { buildModel } from './index.ts';
import { parseWriteArgs, usage } from './write-args.ts';
import { takeWeights } from './weights-from.ts';

function main(argv: string[]): number {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return argv.length === 0 ? 1 : 0;
  }
  const { arch, config, out, weightsFrom } = parseWriteArgs(argv);
  const { model, config: resolved } = buildModel(arch, config);
  if (weightsFrom !== undefined) {
    const { taken, fresh, unused } = takeWeights(model, readModel(weightsFrom), weightsFrom);
    const list = (names: string[]) => (names.length > 6 ? `${names.slice(0, 6).join(', ')}, ...` : names.join(', '));
    console.log(`weights from ${weightsFrom}: ${taken.length} tensors; freshly drawn: ${fresh.length ? `${fresh.length} (${list(fresh)})` : 'none'}; left behind: ${unused.length ? `${unused.length} (${list(unused)})` : 'none'}`);
  }
  writeModel(model, out);
  const parameters = model.graph!.initializer.reduce((sum, t) => sum + elementCount(t.dims), 0);
  console.log(`wrote ${out}: ${arch}, ${resolved.layers} layers, d ${resolved.dModel}, ${parameters.toLocaleString('en-US')} parameters, opset ${resolved.opset}, seed ${resolved.seed}`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (!isUserError(e)) throw e;
  console.error(`error: ${e.message}${e.hint ? `\n${e.hint}` : ''}`);
  process.exitCode = 1;
}
