/**
 * com.microsoft EmbedLayerNormalization: word + position (+ segment) embedding lookups, summed
 * in that order, then LayerNorm; mask_index (output 1) is the count of ones in each row of
 * the mask (zeros without one), the 1-D form Attention reads. Written out, the embeddings are
 * Gathers and the norm is the chain torch writes: h_0 is an ordinary LayerNorm's output.
 */
import { attrFloat } from '../../graph/attributes.ts';
import { DataType } from '../../onnx/dtype.ts';
import { makeTensor } from '../../onnx/tensor.ts';
import type { Lowering } from './context.ts';
import { normalize } from './normalize.ts';

export const embedLayerNormalization: Lowering = (c) => {
  const e = c.e;
  const ids = c.required(0, 'input_ids');
  const word = c.required(2, 'word_embedding');
  const positionTable = c.required(3, 'position_embedding');
  let sum = e.op('Gather', [word, ids], { axis: 0 });
  const positionIds = c.input(8);
  let position: string;
  if (positionIds) {
    position = e.op('Gather', [positionTable, positionIds], { axis: 0 });
  } else {
    // Positions 0..S-1: the first S rows of the table.
    e.requireOpset(10, `com.microsoft EmbedLayerNormalization '${c.node.name}' written out (Slice with inputs)`);
    position = e.op('Slice', [positionTable, e.ints([0]), e.dimOf(ids, 1), e.ints([0])]);
  }
  sum = e.op('Add', [sum, position]);
  const segmentIds = c.input(1);
  const segmentTable = c.input(4);
  if (segmentIds && segmentTable) sum = e.op('Add', [sum, e.op('Gather', [segmentTable, segmentIds], { axis: 0 })]);
  else if (segmentIds || segmentTable) c.refuse(`it has ${segmentIds ? 'segment_ids but no segment_embedding' : 'segment_embedding but no segment_ids'}`);
  const n = normalize(e, sum, word, [-1], attrFloat(c.node, 'epsilon', 1e-12), c.required(5, 'gamma'), c.required(6, 'beta'), false);
  if (c.wants(1)) {
    const mask = c.input(7);
    const count = mask
      ? e.reduceSum(e.op('Cast', [e.op('Equal', [mask, e.constant(1, DataType.INT32)])], { to: DataType.INT32 }), [1], false)
      : e.op('ConstantOfShape', [e.dimOf(ids, 0)], { value: makeTensor('value', DataType.INT32, [1], Int32Array.of(0)) });
    c.bind(1, count);
  }
  c.bind(0, n.y);
  if (c.wants(2)) c.bind(2, sum);
};
