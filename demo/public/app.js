// The demo app: one module import of the built bundle; the ModelServer runs in a Web Worker.
import { ModelServer, answerServiceWorkerRequests, registerRestServiceWorker } from '/lib/tfjs-serving.js';

const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const $ = (id) => document.getElementById(id);
const rows = new Map(); // "model/version" → { state, status, download }
const latencies = [];

function log(line) {
  const el = $('log');
  el.textContent = `${new Date().toLocaleTimeString()} ${line}\n` + el.textContent.slice(0, 4000);
}

function render() {
  const body = $('versions').querySelector('tbody');
  body.innerHTML = '';
  for (const [key, r] of [...rows].sort()) {
    const [model, version] = key.split('/');
    const tr = document.createElement('tr');
    const status = r.status && r.status.error_code !== 'OK' ? `<span class="err">${r.status.error_code}: ${r.status.error_message}</span>` : 'OK';
    tr.innerHTML = `<td>${model}</td><td>${version}</td><td class="state ${r.state}">${r.state}</td><td>${status}</td><td>${r.download ?? ''}</td>`;
    body.append(tr);
  }
}

function row(model, version) {
  const key = `${model}/${version}`;
  if (!rows.has(key)) rows.set(key, { state: '' });
  return rows.get(key);
}

const listeners = {
  statechange: (e) => {
    Object.assign(row(e.model, e.version), { state: e.state, status: e.status });
    log(`${e.model} v${e.version} → ${e.state}${e.status.error_code === 'OK' ? '' : ` (${e.status.error_code})`}`);
    render();
    if (e.state === 'AVAILABLE') predictEmotion();
  },
  progress: (e) => {
    row(e.model, e.version).download = `${(e.loadedBytes / 1024).toFixed(0)} / ${(e.totalBytes / 1024).toFixed(0)} KB`;
    render();
  },
  sourceerror: (e) => log(`${e.model}: poll failed: ${e.code}: ${e.message}`),
  workerrestart: (e) => log(`worker restarted: ${e.reason}`),
};

const server = await ModelServer.start({
  modelConfigList: [
    { name: 'emotion', basePath: '/repo/emotion' },
    { name: 'facemesh', basePath: '/repo/facemesh' },
  ],
  pollIntervalMs: 10_000,
  enableBatching: true,
  batchingParameters: { maxBatchSize: 32, batchTimeoutMicros: 2000, allowedBatchSizes: [1, 2, 4, 8, 16, 32] },
  listeners,
});
$('backend').textContent = server.backend;
$('mode').textContent = server.mode === 'worker' ? 'Web Worker' : 'main thread';
const updateNet = () => ($('net').textContent = navigator.onLine ? 'online' : 'offline: serving from IndexedDB');
addEventListener('online', updateNet);
addEventListener('offline', updateNet);
updateNet();
for (const model of await server.modelNames()) {
  for (const s of (await server.getModelStatus(model)).model_version_status) Object.assign(row(model, s.version), { state: s.state, status: s.status });
}
render();

/** Draws a face on the canvas from the sliders and returns its 64×64 grayscale pixels in [0, 1]. */
function drawFace() {
  const c = $('face');
  const g = c.getContext('2d');
  const smile = Number($('smile').value);
  const brows = Number($('brows').value);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, 192, 192);
  g.fillStyle = '#d9b99b';
  g.beginPath(); g.ellipse(96, 100, 62, 78, 0, 0, Math.PI * 2); g.fill();
  g.fillStyle = '#222';
  for (const x of [72, 120]) { g.beginPath(); g.arc(x, 86, 6, 0, Math.PI * 2); g.fill(); }
  g.strokeStyle = '#222'; g.lineWidth = 4;
  for (const [x, d] of [[72, 1], [120, -1]]) { g.beginPath(); g.moveTo(x - 14, 68 + brows * 8 * d); g.lineTo(x + 14, 68 - brows * 8 * d); g.stroke(); }
  g.beginPath(); g.moveTo(70, 135); g.quadraticCurveTo(96, 135 + smile * 30, 122, 135); g.stroke();
  const small = document.createElement('canvas');
  small.width = small.height = 64;
  small.getContext('2d').drawImage(c, 0, 0, 64, 64);
  const rgba = small.getContext('2d').getImageData(0, 0, 64, 64).data;
  const gray = new Float32Array(64 * 64);
  for (let i = 0; i < gray.length; i++) gray[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
  return gray;
}

function percentile(p) {
  const s = [...latencies].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(1) : '–';
}

async function predictEmotion() {
  const data = drawFace();
  const t0 = performance.now();
  try {
    const r = await server.predict({ model: 'emotion', inputs: { 'input_1:0': { shape: [1, 64, 64, 1], data } } });
    const ms = performance.now() - t0;
    latencies.push(ms);
    if (latencies.length > 100) latencies.shift();
    const probs = [...r.outputs['Identity:0'].data];
    $('emotion-bars').innerHTML = probs
      .map((p, i) => `<div class="bar"><span>${EMOTIONS[i]}</span><i style="width:${(p * 260).toFixed(0)}px"></i><span>${(p * 100).toFixed(1)}%</span></div>`)
      .join('');
    $('emotion-meta').textContent = `served by version ${r.model.version} in ${ms.toFixed(1)} ms (p50 ${percentile(50)} ms, p99 ${percentile(99)} ms over the last ${latencies.length})`;
  } catch (e) {
    $('emotion-meta').textContent = `${e.code ?? 'ERROR'}: ${e.message}`;
  }
}

async function predictFacemesh() {
  const c = $('face');
  const small = document.createElement('canvas');
  small.width = small.height = 192;
  small.getContext('2d').drawImage(c, 0, 0);
  const rgba = small.getContext('2d').getImageData(0, 0, 192, 192).data;
  const rgb = new Float32Array(192 * 192 * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4) { rgb[j++] = rgba[i] / 255; rgb[j++] = rgba[i + 1] / 255; rgb[j++] = rgba[i + 2] / 255; }
  const meta = await server.getModelMetadata('facemesh');
  const input = Object.keys(meta.metadata.signature_def.signature_def.serving_default.inputs)[0];
  const t0 = performance.now();
  const r = await server.predict({ model: 'facemesh', inputs: { [input]: { shape: [1, 192, 192, 3], data: rgb } } });
  const ms = performance.now() - t0;
  const parts = Object.entries(r.outputs).map(([k, o]) => `${k} [${o.shape.join('×')}]`).join(', ');
  $('facemesh-meta').textContent = `version ${r.model.version} answered in ${ms.toFixed(1)} ms: ${parts}`;
}

$('smile').addEventListener('input', predictEmotion);
$('brows').addEventListener('input', predictEmotion);
$('poll').addEventListener('click', () => server.pollNow());
$('publish').addEventListener('click', async () => {
  $('publish').disabled = true;
  try {
    const res = await fetch('/admin/publish?model=emotion', { method: 'POST' });
    log(`publish: ${await res.text()}`);
    await server.pollNow('emotion');
  } finally {
    $('publish').disabled = false;
  }
});
$('burst').addEventListener('click', async () => {
  const t0 = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: 32 }, () => server.predict({ model: 'emotion', inputs: { 'input_1:0': { shape: [1, 64, 64, 1], data: drawFace() } } })),
  );
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const ms = performance.now() - t0;
  $('load-meta').textContent = `${ok}/32 answered in ${ms.toFixed(1)} ms (${((32 / ms) * 1000).toFixed(0)} predictions/s, batched in the worker)`;
});

// The demo's Service Worker (workbox-window registers it): TF Serving's REST API on the device, handed
// to this page's server, and an app-shell cache so the demo opens offline on the next visit.
answerServiceWorkerRequests(server);
await registerRestServiceWorker('/sw.js');
$('rest').addEventListener('click', async () => {
  const res = await fetch('/v1/models/emotion:predict', {
    method: 'POST',
    body: JSON.stringify({ instances: [Array.from({ length: 64 }, () => Array.from({ length: 64 }, () => [0.5]))] }),
  });
  const text = await res.text();
  $('rest-out').textContent = `HTTP ${res.status} (answered on the device by the Service Worker and this page's worker)\n${text.slice(0, 600)}`;
});

await predictEmotion();
await predictFacemesh();
window.demo = { server, ready: true };
