/**
 * Which form the Gather-family gradients take before opset 16 (the gradient values themselves
 * are checked in gradcheck.test.ts): distinct constant indices scatter without reduction,
 * anything else goes through the one-hot fallback; and the float32 one-hot (the form CUDA has
 * kernels for) is checked against finite differences too, since gradcheck prefers float64.
 */
import test from 'ava';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { attrString } from '../../../compiler/graph/attributes.ts';
import { checkCase, buildForward } from './gradcheck.ts';
import { OP_CASES } from './op-cases.ts';

const FORMS: Record<string, 'scatter' | 'one-hot' | 'scatter-add'> = {
  'Gather scalar index axis 1 (opset 13, pooler h[:, 0])': 'scatter',
  'Gather scalar index axis 1 (opset 14)': 'scatter',
  'Gather distinct constant vector axis 1 (opset 13)': 'scatter',
  'Gather distinct constant vector axis 0 (opset 14)': 'scatter',
  'Gather repeated constant (opset 14, one-hot)': 'one-hot',
  'Gather runtime repeated ids (opset 14, one-hot)': 'one-hot',
  'Gather runtime ids axis 1 of 3-D (opset 13, one-hot)': 'one-hot',
  'Gather runtime ids 1-D table (opset 11, one-hot)': 'one-hot',
  'Gather runtime ids (opset 9, one-hot)': 'one-hot',
  'GatherElements distinct constant (opset 13)': 'scatter',
  'GatherElements repeated constant (opset 14, one-hot)': 'one-hot',
  'GatherElements runtime axis 0 (opset 13, one-hot)': 'one-hot',
  'GatherND distinct constant (opset 13)': 'scatter',
  'GatherND repeated constant rows (opset 14, one-hot)': 'one-hot',
  'GatherND runtime tuples (opset 13, one-hot)': 'one-hot',
  'Gather embedding (repeated ids)': 'scatter-add',
};

for (const [name, form] of Object.entries(FORMS)) {
  test(`${name}: ${form}`, (t) => {
    const c = OP_CASES.find((k) => k.name === name);
    if (!c) return t.fail(`no case named '${name}' in op-cases.ts`);
    const built = buildForward(c, 'float64', 7, true);
    const before = built.graph.nodes.length;
    differentiate(built.graph, { loss: 'loss', wrt: built.wrt, opset: c.opset ?? 18 });
    const added = built.graph.nodes.slice(before);
    const scatters = added.filter((n) => n.opType === 'ScatterND' || n.opType === 'ScatterElements');
    const oneHots = added.filter((n) => n.opType === 'OneHot');
    if (form === 'one-hot') {
      t.is(scatters.length, 0);
      t.is(oneHots.length, 1);
    } else {
      t.is(oneHots.length, 0);
      t.is(scatters.length, 1);
      t.is(attrString(scatters[0]!, 'reduction', 'none'), form === 'scatter-add' ? 'add' : 'none');
    }
  });
}

for (const name of ['Gather runtime ids axis 1 of 3-D (opset 13, one-hot)', 'GatherElements runtime axis 0 (opset 13, one-hot)', 'GatherND runtime tuples (opset 13, one-hot)']) {
  test(`${name}: float32 one-hot gradient`, async (t) => {
    const c = OP_CASES.find((k) => k.name === name)!;
    const r = await checkCase(c, 'float32', 'inferred');
    t.true(r.maxRelError < 1e-2, `relative error ${r.maxRelError}`);
  });
}
