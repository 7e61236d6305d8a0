/** One runner over the op case table: each case is a one-node graph whose output types (and contents, where a case gives them) must match. */
import test from 'ava';
import { Graph } from '../../../compiler/graph/graph.ts';
import { makeAttrs } from '../../../compiler/graph/attributes.ts';
import { inferGraphValues, type Inferred } from '../../../compiler/shapes/index.ts';
import { OP_CASES } from './cases.ts';
import { formatType, formatValue, matchesType, parseType } from './notation.ts';

for (const c of OP_CASES) {
  test(`${c.op}: ${c.name}`, (t) => {
    const graph = new Graph();
    const known = new Map<string, Inferred>();
    const inputs = c.inputs.map((spec, i) => {
      if (spec === null) return '';
      known.set(`x${i}`, parseType(spec));
      return `x${i}`;
    });
    const outputs = c.outputs.map((_, i) => `y${i}`);
    graph.nodes.push({ name: 'n', opType: c.op, domain: c.domain ?? '', inputs, outputs, attributes: makeAttrs(c.attrs) });
    const opsets = new Map([['', c.opset ?? 17]]);
    if (c.domain) opsets.set(c.domain, c.opset ?? 1);
    const types = inferGraphValues(graph, opsets, known);
    c.outputs.forEach((expected, i) => {
      const actual = types.get(`y${i}`);
      t.true(matchesType(actual, expected), `output ${i}: inferred ${formatType(actual)}${formatValue(actual)}, expected ${expected ?? 'unknown'}`);
    });
  });
}
