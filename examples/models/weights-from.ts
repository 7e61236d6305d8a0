/**
 * Starting a freshly built model from another model's weights: every initializer of `model`
 * whose name is in `source` takes the source's values (same dims and dtype, or an error naming
 * the tensor); the rest keep their fresh draw. This is how a pretrained encoder gets a new head
 * (the MLM-pretrained encoder under a classifier) or loses one (the encoder alone, for export).
 */
import { UserError } from '../../contract/errors.ts';
import { tensorDims, type ModelProto } from '../../compiler/onnx/index.ts';

export interface WeightsTaken {
  /** Initializers whose values came from the source. */
  taken: string[];
  /** Initializers the source lacks: they keep their fresh draw (a new head). */
  fresh: string[];
  /** Source parameters the model has no use for (a head left behind). */
  unused: string[];
}

export function takeWeights(model: ModelProto, source: ModelProto, sourceLabel: string): WeightsTaken {
  const from = new Map(source.graph!.initializer.map((t) => [t.name, t]));
  const taken: string[] = [];
  const fresh: string[] = [];
  const inits = model.graph!.initializer;
  inits.forEach((t, i) => {
    const s = from.get(t.name);
    if (!s) {
      fresh.push(t.name);
      return;
    }
    const [want, got] = [tensorDims(t), tensorDims(s)];
    if (s.dataType !== t.dataType || want.join(',') !== got.join(',')) {
      throw new UserError(`${sourceLabel}: '${t.name}' is [${got.join(', ')}] (dtype ${s.dataType}), but the model being written needs [${want.join(', ')}] (dtype ${t.dataType})`,
        'give the same sizes (--layers, --d-model, --heads, --ffn, --vocab-size, --max-positions) the source model was written with');
    }
    inits[i] = s;
    taken.push(t.name);
  });
  if (taken.length === 0) {
    throw new UserError(`${sourceLabel}: none of its ${from.size} initializers has a name the model being written uses`, 'give a model written by examples/models/write.ts for the same architecture (or exported from one by lor2c)');
  }
  const used = new Set(taken);
  // Names with a '/' are node outputs a Constant was folded into (lor2c export does that), not parameters.
  return { taken, fresh, unused: [...from.keys()].filter((n) => !used.has(n) && !n.includes('/')) };
}
