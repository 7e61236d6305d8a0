/** Text ops: StringNormalizer and TfIdfVectorizer. */
import { DataType } from '../../onnx/dtype.ts';
import { attrInts } from '../../graph/attributes.ts';
import type { Rule, RuleTable } from '../rule.ts';

/** Stop words may remove any number of strings: [C] -> [?], [1, C] -> [1, ?]. */
const stringNormalizer: Rule = (ctx) => {
  const x = ctx.shape(0);
  const n = ctx.fresh('strings');
  return [{ dtype: DataType.STRING, shape: x ? (x.length === 2 ? [x[0]!, n] : [n]) : undefined }];
};

/** One column per n-gram index: [C] -> [max+1], [N, C] -> [N, max+1]. */
const tfIdf: Rule = (ctx) => {
  const x = ctx.shape(0);
  const indexes = attrInts(ctx.node, 'ngram_indexes') ?? [];
  const width = indexes.length ? Math.max(...indexes) + 1 : 0;
  return [{ dtype: DataType.FLOAT, shape: x ? (x.length === 2 ? [x[0]!, width] : [width]) : undefined }];
};

export const textRules: RuleTable = {
  StringNormalizer: stringNormalizer,
  TfIdfVectorizer: tfIdf,
};
