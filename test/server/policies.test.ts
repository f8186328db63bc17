// Version policies, labels, the resource-preserving order and the memory budget, end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, predictDense, recordTransitions, valueOf } from '../helpers/serving.js';
import { denseExpected } from '../helpers/models.js';
import { ServingError } from '../../src/index.js';

const base = (h: { repo: { modelUrl(n: string): string } }) => h.repo.modelUrl('m');

test('latest 2 serves the two highest versions; no version → the latest; a version not served → NOT_FOUND', async () => {
  const h = await harness();
  try {
    for (const v of [1, 2, 3]) await h.publishDense('m', v);
    const server = await h.start({ modelConfigList: [{ name: 'm', basePath: base(h), modelVersionPolicy: { latest: { numVersions: 2 } } }] });
    assert.deepEqual((await server.getModelStatus('m')).model_version_status.map((s) => `${s.version}:${s.state}`), ['3:AVAILABLE', '2:AVAILABLE']);
    assert.equal((await predictDense(server, 2)).model.version, 3);
    assert.equal(valueOf(await predictDense(server, 2, { version: 2 })), denseExpected(2, 0, 2));
    await assert.rejects(predictDense(server, 2, { version: 1 }), (e: ServingError) => e.code === 'NOT_FOUND' && /Specific\(m, 1\)/.test(e.message));
    assert.deepEqual(await server.store.listVersions('m'), [2, 3], 'version 1 was never downloaded');
  } finally {
    await h.close();
  }
});

test('specific [1] pins version 1 even when newer ones are published; all serves every version', async () => {
  const h = await harness();
  try {
    for (const v of [1, 2, 3]) await h.publishDense('m', v);
    const server = await h.start({
      models: [],
      modelConfigList: [
        { name: 'm', basePath: base(h), modelVersionPolicy: { specific: { versions: [1] } } },
      ],
    });
    assert.deepEqual((await server.getModelStatus('m')).model_version_status.map((s) => `${s.version}:${s.state}`), ['1:AVAILABLE']);
    assert.equal((await predictDense(server, 4)).model.version, 1);
    await server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: base(h), modelVersionPolicy: { all: {} } }] });
    assert.deepEqual((await server.getModelStatus('m')).model_version_status.map((s) => `${s.version}:${s.state}`), ['3:AVAILABLE', '2:AVAILABLE', '1:AVAILABLE']);
    for (const v of [1, 2, 3]) assert.equal(valueOf(await predictDense(server, 4, { version: v })), denseExpected(v, 0, 4));
  } finally {
    await h.close();
  }
});

test('labels route to their versions; moving a label to an unavailable version is refused and the old label stays', async () => {
  const h = await harness();
  try {
    for (const v of [1, 2]) await h.publishDense('m', v);
    const config = (labels: Record<string, number>, versions = [1, 2]) => ({
      modelConfigList: [{ name: 'm', basePath: base(h), modelVersionPolicy: { specific: { versions } }, versionLabels: labels }],
    });
    const server = await h.start(config({ stable: 1, canary: 2 }));
    assert.equal((await predictDense(server, 1, { label: 'stable' })).model.version, 1);
    assert.equal((await predictDense(server, 1, { label: 'canary' })).model.version, 2);
    await assert.rejects(predictDense(server, 1, { label: 'beta' }), (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /Unrecognized servable version label: beta/.test(e.message));
    await assert.rejects(predictDense(server, 1, { label: 'stable', version: 1 }), (e: ServingError) => e.code === 'INVALID_ARGUMENT');

    await h.publishDense('m', 3);
    await assert.rejects(
      server.reloadConfig(config({ stable: 1, canary: 3 })),
      (e: ServingError) => e.code === 'FAILED_PRECONDITION' && /version 3 of model m, which is not currently available/.test(e.message),
    );
    assert.deepEqual((await server.versionLabels('m')), { stable: 1, canary: 2 });
    assert.equal((await predictDense(server, 1, { label: 'canary' })).model.version, 2);
    // TF Serving's way: first serve {1, 2, 3}, then move the label.
    await server.reloadConfig(config({ stable: 1, canary: 2 }, [1, 2, 3]));
    await server.reloadConfig(config({ stable: 2, canary: 3 }, [1, 2, 3]));
    assert.equal((await predictDense(server, 1, { label: 'canary' })).model.version, 3);
    assert.equal((await predictDense(server, 1, { label: 'stable' })).model.version, 2);
  } finally {
    await h.close();
  }
});

test('a label at start must point at an AVAILABLE version unless allowVersionLabelsForUnavailableModels', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    await assert.rejects(
      h.start({ modelConfigList: [{ name: 'm', basePath: base(h), versionLabels: { canary: 7 } }] }),
      (e: ServingError) => e.code === 'FAILED_PRECONDITION',
    );
    const server = await h.start({ allowVersionLabelsForUnavailableModels: true, modelConfigList: [{ name: 'm', basePath: base(h), versionLabels: { canary: 7 } }] });
    await assert.rejects(predictDense(server, 1, { label: 'canary' }), (e: ServingError) => e.code === 'NOT_FOUND' && /Specific\(m, 7\)/.test(e.message));
  } finally {
    await h.close();
  }
});

test('resource-preserving unloads the old version before loading the new one', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({ aspiredVersionPolicy: 'resource-preserving' });
    const transitions = recordTransitions(server);
    await h.publishDense('m', 2);
    await server.pollNow();
    assert.deepEqual(transitions, ['m/2:START', 'm/1:UNLOADING', 'm/1:END', 'm/2:LOADING', 'm/2:AVAILABLE']);
  } finally {
    await h.close();
  }
});

test('memory budget: a version whose 1.2 × bytes estimate does not fit is refused with RESOURCE_EXHAUSTED; v1 keeps serving', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    // The dense version's files: estimate 1.2 × size. Budget fits one version, not two.
    const server1 = await h.start({});
    const files = (await server1.store.getVersion('m', 1))!.files;
    const estimate = Math.ceil(1.2 * files.reduce((s, f) => s + f.size, 0));
    await server1.close();
    const server = await h.start({ totalModelMemoryLimitBytes: Math.ceil(estimate * 1.5) });
    await h.publishDense('m', 2);
    await server.pollNow();
    const v2 = (await server.getModelStatus('m', 2)).model_version_status[0]!;
    assert.equal(v2.state, 'END');
    assert.equal(v2.status.error_code, 'RESOURCE_EXHAUSTED');
    assert.match(v2.status.error_message, new RegExp(`needs an estimated ${estimate} bytes`));
    assert.equal((await predictDense(server, 1)).model.version, 1);
  } finally {
    await h.close();
  }
});

test('reloadConfig adds and removes models; a removed model is unloaded and NOT_FOUND', async () => {
  const h = await harness();
  try {
    await h.publishDense('a', 1);
    await h.publishDense('b', 2);
    const server = await h.start({ models: ['a'] });
    await server.reloadConfig({ modelConfigList: [{ name: 'b', basePath: h.repo.modelUrl('b') }] });
    assert.equal((await predictDense(server, 1, { model: 'b' })).model.version, 2);
    await server.whenIdle();
    await assert.rejects(predictDense(server, 1, { model: 'a' }), (e: ServingError) => e.code === 'NOT_FOUND');
    assert.equal((await server.getModelStatus('a')).model_version_status[0]!.state, 'END');
    assert.deepEqual((await server.modelNames()), ['b']);
  } finally {
    await h.close();
  }
});
