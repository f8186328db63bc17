/**
 * Functional control flow (`StatelessWhile` / `StatelessIf`, `While` / `If`): no SavedModel fixture
 * has it, so the graph is built in memory as a decoded SavedModel (what `readSavedModel` returns,
 * with TensorFlow's FunctionDef conventions: `node:outArg:idx` references, input args by name,
 * device placements, debug ops), converted through every pass (inline, cut, prune, freeze, optimize,
 * op check, writer), written to disk, loaded with the stock `tf.loadGraphModel` over HTTP-style
 * fetches of model.json and its shards, and run with `executeAsync`.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { encodeTensorBundle } from '../../bench/fixtures/saved-model-writer.js';
import { convertSavedModel, writeGraphModel, type ConversionResult, type ConvertOptions, type SavedModelDir } from '../../converter/index.js';
import type { ArgDef, AttrValue, FunctionDef, NodeDef, OpDef, SignatureDef, TensorProto } from '../../converter/proto/messages.js';
import { DT } from '../../converter/tensor.js';
import { assertClose, cpuBackend } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-cf-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

// ------------------------------------------------------------ builders
const te = new TextEncoder();
const emptyList = (): NonNullable<AttrValue['list']> => ({ s: [], i: [], f: [], b: [], type: [], shape: [], tensor: [], func: [] });
const type = (t: number): AttrValue => ({ type: t });
const types = (...t: number[]): AttrValue => ({ list: { ...emptyList(), type: t } });
const func = (name: string): AttrValue => ({ func: { name, attr: {} } });
const scalarShapes = (k: number): AttrValue => ({ list: { ...emptyList(), shape: Array.from({ length: k }, () => ({ dim: [] })) } });
const str = (s: string): AttrValue => ({ s: te.encode(s) });

function tensor(dtype: number, values: number[] | boolean[], shape: number[] = []): TensorProto {
  const t: TensorProto = {
    dtype,
    tensorShape: { dim: shape.map((size) => ({ size })) },
    halfVal: [], floatVal: [], doubleVal: [], intVal: [], stringVal: [], scomplexVal: [],
    int64Val: [], boolVal: [], dcomplexVal: [], uint32Val: [], uint64Val: [],
  };
  if (dtype === DT.FLOAT) t.floatVal = values as number[];
  else if (dtype === DT.BOOL) t.boolVal = values as boolean[];
  else t.intVal = values as number[];
  return t;
}
const node = (name: string, op: string, input: string[] = [], attr: Record<string, AttrValue> = {}, device?: string): NodeDef =>
  ({ name, op, input, attr, ...(device ? { device } : {}) });
const constNode = (name: string, dtype: number, values: number[] | boolean[], shape: number[] = []): NodeDef =>
  node(name, 'Const', [], { dtype: type(dtype), value: { tensor: tensor(dtype, values, shape) } });
const placeholder = (name: string, dtype: number): NodeDef => node(name, 'Placeholder', [], { dtype: type(dtype), shape: { shape: { dim: [] } } });
const arg = (name: string, t: number): ArgDef => ({ name, type: t });
const opDef = (name: string, inputArg: ArgDef[], outputArg: ArgDef[]): OpDef => ({ name, inputArg, outputArg, attr: [], controlOutput: [] });
const fn = (name: string, inputs: ArgDef[], outputs: ArgDef[], nodeDef: NodeDef[], ret: Record<string, string>): FunctionDef =>
  ({ signature: opDef(name, inputs, outputs), attr: {}, argAttr: {}, nodeDef, ret, controlRet: {} });

const F = DT.FLOAT;
const I = DT.INT32;
const B = DT.BOOL;
const CPU = '/job:localhost/replica:0/task:0/device:CPU:0';

/**
 * A TF2-style model: `serving_default` calls `__inference_serve` through a StatefulPartitionedCall.
 * Inside it: `acc = 1; for i in range(n): acc = acc * x + 3` as a StatelessWhile (cond `cond_fn`,
 * body `body_fn`), then `out = p ? acc * 10 : acc - 100` as a StatelessIf (`then_fn` / `else_fn`,
 * whose body calls `sub_fn` through a PartitionedCall). `whileOp`/`ifOp` pick the functional op names.
 */
function controlFlowModel(whileOp = 'StatelessWhile', ifOp = 'StatelessIf'): SavedModelDir {
  const loopT = types(I, I, F, F);
  const functions: FunctionDef[] = [
    fn('cond_fn', [arg('i', I), arg('n', I), arg('acc', F), arg('x', F)], [arg('ok', B)],
      [node('less', 'Less', ['i', 'n'], { T: type(I) }, CPU)],
      { ok: 'less:z:0' }),
    fn('body_fn', [arg('i', I), arg('n', I), arg('acc', F), arg('x', F)], [arg('i_next', I), arg('n_out', I), arg('acc_next', F), arg('x_out', F)], [
      constNode('one', I, [1]),
      node('add', 'AddV2', ['i', 'one:output:0'], { T: type(I) }, CPU),
      // A constant sub-graph (2 + 1), an Identity chain, a debug op and a dead node, like TF's bodies.
      constNode('two', F, [2]),
      constNode('c', F, [1]),
      node('three', 'AddV2', ['two:output:0', 'c:output:0'], { T: type(F) }),
      node('mul', 'Mul', ['acc', 'x'], { T: type(F) }, CPU),
      node('mul_checked', 'CheckNumerics', ['mul:z:0'], { T: type(F), message: str('bad') }),
      node('add_1', 'AddV2', ['mul_checked:output:0', 'three:z:0'], { T: type(F) }, CPU),
      node('acc_id', 'Identity', ['add_1:z:0', '^add'], { T: type(F) }),
      node('dead', 'Mul', ['x', 'x'], { T: type(F) }),
      node('i_id', 'Identity', ['add:z:0'], { T: type(I) }),
    ], { i_next: 'i_id:output:0', n_out: 'n', acc_next: 'acc_id:output:0', x_out: 'x' }),
    // Both branches have a Const named "c": weights must not collide.
    fn('then_fn', [arg('a', F)], [arg('out', F)],
      [constNode('c', F, [10]), node('times', 'Mul', ['a', 'c:output:0'], { T: type(F) })],
      { out: 'times:z:0' }),
    fn('else_fn', [arg('a', F)], [arg('out', F)],
      [constNode('c', F, [100]), node('call_sub', 'PartitionedCall', ['a', 'c:output:0'], { Tin: types(F, F), Tout: types(F), f: func('sub_fn') })],
      { out: 'call_sub:output:0' }),
    fn('sub_fn', [arg('u', F), arg('v', F)], [arg('d', F)],
      [node('d', 'Sub', ['u', 'v'], { T: type(F) })],
      { d: 'd:z:0' }),
    fn('__inference_serve', [arg('x', F), arg('n', I), arg('p', B)], [arg('acc', F), arg('out', F)], [
      constNode('i0', I, [0]),
      constNode('half', F, [0.5]),
      node('acc0', 'AddV2', ['half:output:0', 'half:output:0'], { T: type(F) }), // folded to 1 at conversion
      node('while', whileOp, ['i0:output:0', 'n', 'acc0:z:0', 'x'], {
        T: loopT, cond: func('cond_fn'), body: func('body_fn'), output_shapes: scalarShapes(4),
        parallel_iterations: { i: 10 }, _num_original_outputs: { i: 4 }, _lower_using_switch_merge: { b: true },
      }, CPU),
      node('acc_out', 'Identity', ['while:output:2'], { T: type(F) }),
      node('branch', ifOp, ['p', 'acc_out:output:0'], {
        Tcond: type(B), Tin: types(F), Tout: types(F), then_branch: func('then_fn'), else_branch: func('else_fn'),
        output_shapes: scalarShapes(1), _lower_using_switch_merge: { b: true },
      }),
      node('out', 'Identity', ['branch:output:0'], { T: type(F) }),
    ], { acc: 'acc_out:output:0', out: 'out:output:0' }),
  ];
  const top: NodeDef[] = [
    placeholder('serving_default_x', F),
    placeholder('serving_default_n', I),
    placeholder('serving_default_p', B),
    node('StatefulPartitionedCall', 'StatefulPartitionedCall', ['serving_default_x', 'serving_default_n', 'serving_default_p'], {
      Tin: types(F, I, B), Tout: types(F, F), f: func('__inference_serve'),
    }),
    // An unrelated training-only branch: pruned away.
    node('unused', 'Neg', ['serving_default_x'], { T: type(F) }),
  ];
  const info = (name: string, dtype: number) => ({ name, dtype, tensorShape: { dim: [] } });
  const signature: SignatureDef = {
    inputs: { x: info('serving_default_x:0', F), n: info('serving_default_n:0', I), p: info('serving_default_p:0', B) },
    outputs: { acc: info('StatefulPartitionedCall:0', F), out: info('StatefulPartitionedCall:1', F) },
    methodName: 'tensorflow/serving/predict',
  };
  return {
    dir: join(work, 'in-memory-savedmodel'), // no variables/ there: a model without variables
    byteSize: 0,
    savedModel: {
      metaGraphs: [{
        metaInfoDef: { tags: ['serve'], tensorflowVersion: '2.15.0' },
        graphDef: { node: top, library: { function: functions }, versions: { producer: 1645, badConsumers: [] } },
        collectionDef: {},
        signatureDef: { serving_default: signature },
      }],
    },
  };
}

/** Writes `r` to a directory and loads it with the stock loader, fetching model.json and shards from disk. */
async function writeAndLoad(r: ConversionResult, name: string): Promise<tf.GraphModel> {
  const dir = join(work, name);
  writeGraphModel(r, dir, { weightShardSizeBytes: 16 }); // several shards
  const fetchFunc = async (input: URL | RequestInfo) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const file = join(dir, new URL(url).pathname.split('/').pop()!);
    const body = readFileSync(file);
    return new Response(body, { status: 200, headers: { 'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' } });
  };
  return tf.loadGraphModel('http://models.invalid/cf/model.json', { fetchFunc });
}

async function runModel(model: tf.GraphModel, x: number, n: number, p: boolean): Promise<{ acc: number; out: number }> {
  type Sig = { inputs: Record<string, { name: string }>; outputs: Record<string, { name: string }> };
  const sig = (model as unknown as { signature: Sig }).signature;
  const feeds: tf.NamedTensorMap = {
    [sig.inputs.x!.name]: tf.scalar(x, 'float32'),
    [sig.inputs.n!.name]: tf.scalar(n, 'int32'),
    [sig.inputs.p!.name]: tf.scalar(p, 'bool'),
  };
  const outs = (await model.executeAsync(feeds, [sig.outputs.acc!.name, sig.outputs.out!.name])) as tf.Tensor[];
  const [acc, out] = outs.map((t) => t.dataSync()[0]!);
  tf.dispose([...outs, ...Object.values(feeds)]);
  return { acc: acc!, out: out! };
}

/** acc = 1; n times: acc = acc * x + 3; out = p ? 10 acc : acc - 100. */
function expected(x: number, n: number, p: boolean): { acc: number; out: number } {
  let acc = 1;
  for (let i = 0; i < n; i++) acc = acc * x + 3;
  return { acc, out: p ? acc * 10 : acc - 100 };
}

type JsonNode = { name: string; op: string; input?: string[]; device?: string; attr?: Record<string, { func?: { name: string } }> };
type JsonFunction = { signature: { name: string }; nodeDef?: JsonNode[]; ret: Record<string, string> };

async function convertIt(opts: ConvertOptions = {}, whileOp?: string, ifOp?: string): Promise<ConversionResult> {
  await cpuBackend();
  return convertSavedModel(controlFlowModel(whileOp, ifOp), opts);
}

describe('functional control flow (StatelessWhile / StatelessIf kept with their library functions)', () => {
  it('converts, keeps the loop and branch functions, and runs with the stock loader (executeAsync)', async () => {
    const r = await convertIt();
    const topo = r.modelJson.modelTopology as unknown as { node: JsonNode[]; library?: { function: JsonFunction[] } };
    const ops = topo.node.map((n) => n.op);
    assert.ok(ops.includes('StatelessWhile') && ops.includes('StatelessIf'), `ops: ${ops.join(',')}`);
    assert.ok(!ops.includes('StatefulPartitionedCall') && !ops.includes('Neg'), 'the call is inlined and the unused branch pruned');
    // The loop's initial value (0.5 + 0.5) was folded in the main graph.
    assert.ok(!ops.includes('AddV2'), `main graph ops: ${ops.join(',')}`);
    const fns = new Map((topo.library?.function ?? []).map((f) => [f.signature.name, f]));
    // sub_fn is inlined into else_fn (its PartitionedCall), so only the four control-flow functions stay.
    assert.deepEqual([...fns.keys()].sort(), ['body_fn', 'cond_fn', 'else_fn', 'then_fn']);
    const body = fns.get('body_fn')!;
    const bodyOps = (body.nodeDef ?? []).map((n) => n.op);
    assert.ok(!bodyOps.includes('CheckNumerics') && !bodyOps.includes('Identity'), `debug op and identities stripped: ${bodyOps.join(',')}`);
    assert.ok(!(body.nodeDef ?? []).some((n) => n.name === 'dead'), 'dead node in the body pruned');
    // The body's constant 2 + 1 is folded (into a weight named after the function), and its returns
    // point past the Identity nodes, at the computing nodes or straight at the input arguments.
    assert.ok(!(body.nodeDef ?? []).some((n) => n.name === 'three'), `bodies are constant-folded: ${JSON.stringify(body.nodeDef)}`);
    assert.ok(r.weightSpecs.some((w) => w.name === 'body_fn/three/folded'));
    assert.deepEqual(body.ret, { i_next: 'add', n_out: 'n', acc_next: 'add_1', x_out: 'x' });
    assert.ok(!(body.nodeDef ?? []).some((n) => n.device), 'devices stripped in bodies');
    assert.ok(!(body.nodeDef ?? []).some((n) => (n.input ?? []).some((i) => i.startsWith('^'))), 'no control inputs in bodies');
    assert.ok(!(fns.get('else_fn')!.nodeDef ?? []).some((n) => n.op === 'PartitionedCall'), 'calls inside kept functions are inlined');
    // Function Consts are weights named <function>/<node>; the two branches' "c" do not collide.
    const names = r.weightSpecs.map((w) => w.name);
    assert.ok(names.includes('then_fn/c') && names.includes('else_fn/c'), `weights: ${names.join(',')}`);
    assert.equal(new Set(names).size, names.length);

    const model = await writeAndLoad(r, 'stateless');
    const start = tf.memory().numTensors;
    for (const [x, n, p] of [[2, 3, true], [2, 3, false], [0.5, 0, true], [-1.5, 5, false], [3, 1, true]] as const) {
      const got = await runModel(model, x, n, p);
      const want = expected(x, n, p);
      assertClose([got.acc, got.out], [want.acc, want.out], 1e-6, `x=${x} n=${n} p=${p}`);
    }
    assert.equal(tf.memory().numTensors, start, 'tensors leaked');
    model.dispose();
  });

  it('a branch returning two outputs of one node (Unpack:0, Unpack:1) keeps them apart', async () => {
    const unpackFn = (name: string, scale: number) => fn(name, [arg('a', F)], [arg('first', F), arg('second', F)], [
      constNode('k', F, [scale]),
      node('scaled', 'Mul', ['a', 'k:output:0'], { T: type(F) }),
      node('unpack', 'Unpack', ['scaled:z:0'], { T: type(F), num: { i: 2 }, axis: { i: 0 } }),
      node('first', 'Identity', ['unpack:output:0'], { T: type(F) }),
      node('second', 'Identity', ['unpack:output:1'], { T: type(F) }),
    ], { first: 'first:output:0', second: 'second:output:0' });
    const vec = (name: string) => node(name, 'Placeholder', [], { dtype: type(F), shape: { shape: { dim: [{ size: 2 }] } } });
    const top = [placeholder('p', B), vec('v'), node('branch', 'StatelessIf', ['p', 'v'], {
      Tcond: type(B), Tin: types(F), Tout: types(F, F), then_branch: func('then_fn'), else_branch: func('else_fn'), output_shapes: scalarShapes(2),
    })];
    const info = (name: string, dtype: number) => ({ name, dtype, tensorShape: { dim: [] } });
    const sm: SavedModelDir = {
      dir: join(work, 'in-memory-unpack'),
      byteSize: 0,
      savedModel: { metaGraphs: [{
        metaInfoDef: { tags: ['serve'] },
        graphDef: { node: top, library: { function: [unpackFn('then_fn', 10), unpackFn('else_fn', -1)] } },
        collectionDef: {},
        signatureDef: { serving_default: { inputs: { p: info('p:0', B), v: { ...info('v:0', F), tensorShape: { dim: [{ size: 2 }] } } }, outputs: { a: info('branch:0', F), b: info('branch:1', F) } } },
      }] },
    };
    const r = await convertSavedModel(sm);
    const lib = (r.modelJson.modelTopology as unknown as { library: { function: JsonFunction[] } }).library.function;
    const then = lib.find((f) => f.signature.name === 'then_fn')!;
    assert.notEqual(then.ret.first!.split(':')[0], then.ret.second!.split(':')[0], JSON.stringify(then.ret));
    const model = await writeAndLoad(r, 'unpack');
    for (const [p, want] of [[true, [30, 40]], [false, [-3, -4]]] as const) {
      const feeds = { 'p:0': tf.scalar(p, 'bool'), 'v:0': tf.tensor1d([3, 4]) };
      const outs = (await model.executeAsync(feeds, ['Identity:0', 'Identity_1:0'])) as tf.Tensor[];
      assertClose(outs.map((t) => t.dataSync()[0]!), want, 1e-6, `p=${p}`);
      tf.dispose([...outs, ...Object.values(feeds)]);
    }
    model.dispose();
  });

  it('While / If (stateful variants) convert and run the same way', async () => {
    const r = await convertIt({}, 'While', 'If');
    const ops = (r.modelJson.modelTopology.node as unknown as JsonNode[]).map((n) => n.op);
    assert.ok(ops.includes('While') && ops.includes('If'));
    const model = await writeAndLoad(r, 'stateful');
    const got = await runModel(model, 2, 4, true);
    const want = expected(2, 4, true);
    assertClose([got.acc, got.out], [want.acc, want.out], 1e-6);
    model.dispose();
  });

  it('unoptimized conversion (--no_optimize) runs too, with the body kept as written', async () => {
    const r = await convertIt({ optimize: false });
    const model = await writeAndLoad(r, 'unoptimized');
    const got = await runModel(model, 1.5, 3, false);
    const want = expected(1.5, 3, false);
    assertClose([got.acc, got.out], [want.acc, want.out], 1e-6);
    model.dispose();
  });
});

// ------------------------------------------------------------ variables read inside bodies
const R = DT.RESOURCE;
const SCALE = 1.5;
const BIAS = [10, 20];

/**
 * TF2-style captured variables: `serving_default` calls `__inference_serve_vars(x, n, p, scale, bias)`,
 * the last two being the captured `VarHandleOp`s. Inside: `acc = x; n times: acc = acc * scale` as a
 * StatelessWhile whose loop vars include the `scale` handle (through an Identity), the body reading it in
 * a function it calls (`mul_by_var_fn`, `ReadVariableOp(h)`) and passing the handle through; then
 * `out = p ? acc + bias : acc - reverse(bias)` as a StatelessIf taking the `bias` handle (then:
 * `ReadVariableOp`, else: `ResourceGather`). `badBody` makes the body use the handle with `VariableShape`.
 */
function variablesModel(dir: string, badBody = false): SavedModelDir {
  const whileT = types(I, I, F, R);
  const shapes: AttrValue = { list: { ...emptyList(), shape: [{ dim: [] }, { dim: [] }, { dim: [] }, { dim: [] }] } };
  const functions: FunctionDef[] = [
    fn('vcond_fn', [arg('i', I), arg('n', I), arg('acc', F), arg('s', R)], [arg('ok', B)],
      [node('less', 'Less', ['i', 'n'], { T: type(I) })], { ok: 'less:z:0' }),
    fn('vbody_fn', [arg('i', I), arg('n', I), arg('acc', F), arg('s', R)], [arg('i_next', I), arg('n_out', I), arg('acc_next', F), arg('s_out', R)], [
      constNode('one', I, [1]),
      node('add', 'AddV2', ['i', 'one:output:0'], { T: type(I) }, CPU),
      node('call', 'PartitionedCall', ['acc', 's'], { Tin: types(F, R), Tout: types(F), f: func('mul_by_var_fn') }),
      ...(badBody ? [node('vshape', 'VariableShape', ['s'], { out_type: type(I) }), node('use', 'Cast', ['vshape:output:0'], { SrcT: type(I), DstT: type(F) }),
        node('acc_bad', 'AddV2', ['call:output:0', 'use:y:0'], { T: type(F) })] : []),
      node('s_id', 'Identity', ['s'], { T: type(R) }),
    ], { i_next: 'add:z:0', n_out: 'n', acc_next: badBody ? 'acc_bad:z:0' : 'call:output:0', s_out: 's_id:output:0' }),
    fn('mul_by_var_fn', [arg('u', F), arg('h', R)], [arg('m', F)], [
      node('read', 'ReadVariableOp', ['h'], { dtype: type(F) }, CPU),
      node('m', 'Mul', ['u', 'read:value:0'], { T: type(F) }),
    ], { m: 'm:z:0' }),
    fn('vthen_fn', [arg('a', F), arg('b', R)], [arg('out', F)], [
      node('read', 'ReadVariableOp', ['b'], { dtype: type(F) }),
      node('sum', 'AddV2', ['a', 'read:value:0'], { T: type(F) }),
    ], { out: 'sum:z:0' }),
    fn('velse_fn', [arg('a', F), arg('b', R)], [arg('out', F)], [
      constNode('idx', I, [1, 0], [2]),
      node('g', 'ResourceGather', ['b', 'idx:output:0'], { dtype: type(F), Tindices: type(I), batch_dims: { i: 0 }, validate_indices: { b: true } }),
      node('diff', 'Sub', ['a', 'g:output:0'], { T: type(F) }),
    ], { out: 'diff:z:0' }),
    fn('__inference_serve_vars', [arg('x', F), arg('n', I), arg('p', B), arg('scale', R), arg('bias', R)], [arg('acc', F), arg('out', F)], [
      constNode('i0', I, [0]),
      node('scale_id', 'Identity', ['scale'], { T: type(R) }),
      node('while', 'StatelessWhile', ['i0:output:0', 'n', 'x', 'scale_id:output:0'], {
        T: whileT, cond: func('vcond_fn'), body: func('vbody_fn'), output_shapes: shapes, parallel_iterations: { i: 10 },
      }),
      node('branch', 'StatelessIf', ['p', 'while:output:2', 'bias'], {
        Tcond: type(B), Tin: types(F, R), Tout: types(F), then_branch: func('vthen_fn'), else_branch: func('velse_fn'), output_shapes: scalarShapes(1),
      }),
    ], { acc: 'while:output:2', out: 'branch:output:0' }),
  ];
  const handle = (name: string, shape: number[]) => node(name, 'VarHandleOp', [], {
    dtype: type(F), shape: { shape: { dim: shape.map((size) => ({ size })) } }, shared_name: str(name), container: str(''),
  });
  const top: NodeDef[] = [
    placeholder('serving_default_x', F),
    placeholder('serving_default_n', I),
    placeholder('serving_default_p', B),
    handle('scale', []),
    handle('bias', [2]),
    node('StatefulPartitionedCall', 'StatefulPartitionedCall', ['serving_default_x', 'serving_default_n', 'serving_default_p', 'scale', 'bias'], {
      Tin: types(F, I, B, R, R), Tout: types(F, F), f: func('__inference_serve_vars'),
    }),
  ];
  const f32 = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);
  const { index, data } = encodeTensorBundle([
    { key: 'scale', dtype: F, shape: [], data: f32([SCALE]) },
    { key: 'bias', dtype: F, shape: [2], data: f32(BIAS) },
  ]);
  mkdirSync(join(dir, 'variables'), { recursive: true });
  writeFileSync(join(dir, 'variables', 'variables.index'), index);
  writeFileSync(join(dir, 'variables', 'variables.data-00000-of-00001'), data);
  const info = (name: string, dtype: number) => ({ name, dtype, tensorShape: { dim: [] } });
  return {
    dir,
    byteSize: 0,
    savedModel: { metaGraphs: [{
      metaInfoDef: { tags: ['serve'], tensorflowVersion: '2.15.0' },
      graphDef: { node: top, library: { function: functions }, versions: { producer: 1645, badConsumers: [] } },
      collectionDef: {},
      signatureDef: { serving_default: {
        inputs: { x: info('serving_default_x:0', F), n: info('serving_default_n:0', I), p: info('serving_default_p:0', B) },
        outputs: { acc: info('StatefulPartitionedCall:0', F), out: info('StatefulPartitionedCall:1', F) },
        methodName: 'tensorflow/serving/predict',
      } },
    }] },
  };
}

describe('variables read inside control-flow bodies (captured resource loop vars / branch inputs)', () => {
  const run = async (model: tf.GraphModel, x: number, n: number, p: boolean) => {
    const feeds: tf.NamedTensorMap = {
      'serving_default_x:0': tf.scalar(x, 'float32'), 'serving_default_n:0': tf.scalar(n, 'int32'), 'serving_default_p:0': tf.scalar(p, 'bool'),
    };
    const outs = (await model.executeAsync(feeds, ['Identity:0', 'Identity_1:0'])) as tf.Tensor[];
    const got = { acc: Array.from(outs[0]!.dataSync()), out: Array.from(outs[1]!.dataSync()) };
    tf.dispose([...outs, ...Object.values(feeds)]);
    return got;
  };

  for (const optimize of [true, false]) {
    it(`freezes the handles into values and runs with the stock loader${optimize ? '' : ' (--no_optimize)'}`, async () => {
      await cpuBackend();
      const r = await convertSavedModel(variablesModel(join(work, `vars-${optimize}`)), { optimize });
      const topo = r.modelJson.modelTopology as unknown as {
        node: (JsonNode & { attr?: Record<string, { list?: { type?: string[] } }> })[];
        library: { function: (JsonFunction & { signature: { name: string; inputArg: { name: string; type: string }[]; outputArg: { name: string; type: string }[] } })[] };
      };
      const text = JSON.stringify(topo);
      assert.ok(!/"op":"(ReadVariableOp|ResourceGather|VarHandleOp|StatefulPartitionedCall|PartitionedCall)"|DT_RESOURCE/.test(text), `no handles or reads left: ${text}`);
      const w = topo.node.find((n) => n.op === 'StatelessWhile')!;
      assert.deepEqual(w.attr!.T!.list!.type, ['DT_INT32', 'DT_INT32', 'DT_FLOAT', 'DT_FLOAT']);
      const fns = new Map(topo.library.function.map((f) => [f.signature.name, f]));
      assert.deepEqual([...fns.keys()].sort(), ['vbody_fn', 'vcond_fn', 'velse_fn', 'vthen_fn']);
      const body = fns.get('vbody_fn')!;
      assert.equal(body.signature.inputArg[3]!.type, 'DT_FLOAT');
      assert.equal(body.signature.outputArg[3]!.type, 'DT_FLOAT');
      assert.equal(fns.get('vcond_fn')!.signature.inputArg[3]!.type, 'DT_FLOAT');
      assert.equal(fns.get('vthen_fn')!.signature.inputArg[1]!.type, 'DT_FLOAT');
      assert.ok((fns.get('velse_fn')!.nodeDef ?? []).some((n) => n.op === 'GatherV2'));
      const names = r.weightSpecs.map((s) => s.name);
      assert.ok(names.includes('scale') && names.includes('bias'), `weights: ${names.join(',')}`);

      const model = await writeAndLoad(r, `vars-out-${optimize}`);
      const start = tf.memory().numTensors;
      for (const [x, n, p] of [[2, 3, true], [2, 3, false], [-1, 0, true], [0.5, 4, false]] as const) {
        const got = await run(model, x, n, p);
        const acc = x * SCALE ** n;
        assertClose(got.acc, [acc], 1e-5, `acc x=${x} n=${n}`);
        assertClose(got.out, p ? [acc + BIAS[0]!, acc + BIAS[1]!] : [acc - BIAS[1]!, acc - BIAS[0]!], 1e-5, `out x=${x} n=${n} p=${p}`);
      }
      assert.equal(tf.memory().numTensors, start, 'tensors leaked');
      model.dispose();
    });
  }

  it('a body that uses the handle other than by reading it → UNIMPLEMENTED naming the function and node', async () => {
    await assert.rejects(convertSavedModel(variablesModel(join(work, 'vars-bad'), true)), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'UNIMPLEMENTED');
      assert.match(e.message, /control-flow function "vbody_fn": node "vshape" \(VariableShape\) uses variable handle "s"/);
      return true;
    });
  });
});
