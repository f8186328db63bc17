// The demo app: one module import of the built bundle; the ModelServer runs in a Web Worker.
import { ModelServer, answerServiceWorkerRequests, registerRestServiceWorker } from '/lib/tfjs-serving.js';

const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const $ = (id) => document.getElementById(id);
const rows = new Map(); // "model/version" → { state, status, loaded, total }
const demo = { ready: false, progress: [], loadingRows: [], swaps: [], renderedSeqs: [], points: [], photo: undefined };
window.demo = demo;

function log(line) {
  const el = $('log');
  el.textContent = `${new Date().toLocaleTimeString()} ${line}\n` + el.textContent.slice(0, 4000);
}

// ---------------------------------------------------------------------------------------------------------
// Versions: states, status and download progress per version.

const kb = (n) => `${(n / 1024).toFixed(0)} KB`;

function render() {
  const body = $('versions').querySelector('tbody');
  body.innerHTML = '';
  for (const [key, r] of [...rows].sort()) {
    const [model, version] = key.split('/');
    const tr = document.createElement('tr');
    tr.dataset.model = model;
    tr.dataset.version = version;
    const status = r.status && r.status.error_code !== 'OK' ? `<span class="err">${r.status.error_code}: ${r.status.error_message}</span>` : 'OK';
    const download = r.total
      ? `<progress max="${r.total}" value="${r.loaded}"></progress> <span>${kb(r.loaded)} / ${kb(r.total)}${r.loaded < r.total ? ' downloading' : ' verified'}</span>`
      : r.state === 'AVAILABLE' || r.state === 'END' || r.state === 'UNLOADING' ? '<span class="meta">from IndexedDB</span>' : '';
    tr.innerHTML = `<td>${model}</td><td>${version}</td><td class="state ${r.state}">${r.state || 'downloading'}</td><td>${status}</td><td>${download}</td>`;
    body.append(tr);
  }
}

function row(model, version) {
  const key = `${model}/${version}`;
  if (!rows.has(key)) rows.set(key, { state: '', loaded: 0, total: 0 });
  return rows.get(key);
}

const serving = new Map(); // model → the version AVAILABLE most recently
const listeners = {
  statechange: (e) => {
    Object.assign(row(e.model, e.version), { state: e.state, status: e.status });
    log(`${e.model} v${e.version} → ${e.state}${e.status.error_code === 'OK' ? '' : ` (${e.status.error_code})`}`);
    render();
    if (e.state === 'LOADING') {
      // What the table showed while the version loaded (the test checks the download column).
      const cells = $('versions').querySelectorAll(`tr[data-model="${e.model}"][data-version="${e.version}"] td`);
      demo.loadingRows.push({ model: e.model, version: e.version, download: cells[4]?.textContent ?? '' });
    }
    if (e.state === 'AVAILABLE') {
      const before = serving.get(e.model);
      serving.set(e.model, e.version);
      if (before !== undefined && before !== e.version) markSwap(`${e.model} v${before} → v${e.version}`);
      if (demo.ready) void refreshAll();
    }
  },
  progress: (e) => {
    if (e.phase !== undefined && e.phase !== 'download') return; // the table shows bytes downloaded (load/warmup phases follow)
    Object.assign(row(e.model, e.version), { loaded: e.loadedBytes, total: e.totalBytes });
    demo.progress.push({ model: e.model, version: e.version, loaded: e.loadedBytes, total: e.totalBytes, state: row(e.model, e.version).state || 'downloading' });
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
for (const model of await server.modelNames()) {
  for (const s of (await server.getModelStatus(model)).model_version_status) {
    Object.assign(row(model, s.version), { state: s.state, status: s.status });
    if (s.state === 'AVAILABLE' && !serving.has(model)) serving.set(model, Number(s.version));
  }
}
render();

// ---------------------------------------------------------------------------------------------------------
// Network: the publish button needs the demo server.

let publishing = false;
function updateNet() {
  const online = navigator.onLine;
  $('net').textContent = online ? 'online' : 'offline: serving from IndexedDB';
  const reason = online ? '' : 'Offline: publishing runs tfjs-serving publish on the demo server, which cannot be reached. Predictions go on from IndexedDB.';
  $('publish').disabled = !online || publishing;
  $('publish').title = reason;
  $('publish-reason').textContent = reason;
}
addEventListener('online', updateNet);
addEventListener('offline', updateNet);
updateNet();

// ---------------------------------------------------------------------------------------------------------
// Latency and throughput, per second, with version swaps marked.

const samples = []; // { t, ms } of every emotion prediction made by this page
const WINDOW_S = 90;
const t0 = performance.now();
function record(ms) {
  samples.push({ t: performance.now(), ms });
}
function markSwap(label) {
  const t = performance.now();
  demo.swaps.push({ t, label });
  const li = document.createElement('li');
  li.textContent = `${((t - t0) / 1000).toFixed(1)} s: ${label}`;
  $('swaps').append(li);
  log(`swap: ${label}`);
  drawPlots();
}
function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}
function tick() {
  const now = performance.now();
  const last = samples.filter((s) => s.t > now - 1000).map((s) => s.ms).sort((a, b) => a - b);
  while (samples.length && samples[0].t < now - 5000) samples.shift();
  demo.points.push({ t: now, p50: quantile(last, 0.5), p99: quantile(last, 0.99), rps: last.length });
  while (demo.points.length > WINDOW_S) demo.points.shift();
  const p = demo.points[demo.points.length - 1];
  $('plot-legend').textContent = p.rps
    ? `last second: p50 ${p.p50.toFixed(1)} ms · p99 ${p.p99.toFixed(1)} ms · ${p.rps} predictions/s`
    : 'last second: no predictions';
  drawPlots();
}
function drawPlot(canvas, series, yLabel) {
  const g = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  const L = 48;
  const B = 18;
  g.clearRect(0, 0, W, H);
  g.font = '11px system-ui, sans-serif';
  const points = demo.points;
  const now = performance.now();
  const span = Math.min(WINDOW_S, Math.max(20, Math.ceil((now - t0) / 1000))); // seconds shown
  const x = (t) => L + ((t - (now - span * 1000)) / (span * 1000)) * (W - L - 8);
  const max = Math.max(1, ...series.flatMap((s) => points.map((p) => p[s.key] ?? 0))) * 1.15;
  const y = (v) => H - B - (v / max) * (H - B - 8);
  g.strokeStyle = '#e2e8f0';
  g.fillStyle = '#718096';
  for (let i = 0; i < 3; i++) {
    const v = (max / 3) * i;
    g.beginPath(); g.moveTo(L, y(v)); g.lineTo(W - 8, y(v)); g.stroke();
    g.fillText(v.toFixed(v < 10 ? 1 : 0), 4, y(v) + 4);
  }
  g.fillText(yLabel, 4, 11);
  const step = span > 45 ? 15 : 5;
  for (let s = 0; s <= span; s += step) g.fillText(`-${s}s`, x(now - s * 1000) - 10, H - 4);
  for (const swap of demo.swaps) {
    if (swap.t < now - span * 1000) continue;
    g.strokeStyle = '#c53030';
    g.setLineDash([4, 3]);
    g.beginPath(); g.moveTo(x(swap.t), 4); g.lineTo(x(swap.t), H - B); g.stroke();
    g.setLineDash([]);
    g.fillStyle = '#c53030';
    g.fillText(swap.label, Math.min(x(swap.t) + 4, W - 110), 14);
  }
  for (const s of series) {
    if (s.bars) {
      g.fillStyle = s.color;
      const w = Math.max(2, (W - L - 8) / span - 2);
      for (const p of points) g.fillRect(x(p.t) - w, y(p[s.key]), w, H - B - y(p[s.key]));
      continue;
    }
    g.strokeStyle = s.color;
    g.lineWidth = 2;
    g.beginPath();
    let pen = false;
    for (const p of points) {
      if (p[s.key] === null) { pen = false; continue; }
      if (pen) g.lineTo(x(p.t), y(p[s.key])); else g.moveTo(x(p.t), y(p[s.key]));
      pen = true;
    }
    g.stroke();
    g.lineWidth = 1;
  }
  let lx = L + 90; // the legend, top left, after the axis title
  for (const s of series) {
    g.fillStyle = s.color;
    g.fillRect(lx, 3, 10, 10);
    g.fillStyle = '#1d2430';
    g.fillText(s.label, lx + 14, 12);
    lx += 110;
  }
}
function drawPlots() {
  drawPlot($('latency-plot'), [{ key: 'p50', label: 'p50 ms', color: '#3182ce' }, { key: 'p99', label: 'p99 ms', color: '#dd6b20' }], 'latency (ms)');
  drawPlot($('throughput-plot'), [{ key: 'rps', label: 'predictions/s', color: '#38a169', bars: true }], 'predictions/s');
}
setInterval(tick, 1000);
drawPlots();

// ---------------------------------------------------------------------------------------------------------
// Inputs: a photo (sample, file, camera) → a 192×192 centre crop for facemesh and 64×64 gray for emotion.

const crop = document.createElement('canvas');
crop.width = crop.height = 192;
const cropCtx = crop.getContext('2d', { willReadFrequently: true });
let facemeshInput = 'input_1';
let current = null; // the photo's emotion input, reused by the background traffic

/** Emotion's input as the model was trained: weighted gray in [-1, 1], 64×64. */
function emotionInput(source) {
  const small = document.createElement('canvas');
  small.width = small.height = 64;
  const g = small.getContext('2d', { willReadFrequently: true });
  g.drawImage(source, 0, 0, 64, 64);
  const rgba = g.getImageData(0, 0, 64, 64).data;
  const gray = new Float32Array(64 * 64);
  for (let i = 0; i < gray.length; i++) gray[i] = ((0.2989 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255 - 0.5) * 2;
  return gray;
}

function centreCrop(source, w, h) {
  const side = Math.min(w, h);
  cropCtx.drawImage(source, (w - side) / 2, (h - side) / 2, side, side, 0, 0, 192, 192);
}

function bars(el, probs) {
  el.innerHTML = probs
    .map((p, i) => `<div class="bar"><span>${EMOTIONS[i]}</span><i style="width:${(p * 240).toFixed(0)}px"></i><span>${(p * 100).toFixed(1)}%</span></div>`)
    .join('');
}

async function predictEmotion(data) {
  const start = performance.now();
  const r = await server.predict({ model: 'emotion', inputs: { 'input_1:0': { shape: [1, 64, 64, 1], data } } });
  const ms = performance.now() - start;
  record(ms);
  return { version: r.model.version, probs: [...r.outputs['Identity:0'].data], ms };
}

let analyzing = false;
/** Runs both models on the current crop and draws the photo, the mesh and the emotion bars. */
async function analyze(sourceName) {
  const rgba = cropCtx.getImageData(0, 0, 192, 192).data;
  const rgb = new Float32Array(192 * 192 * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4) { rgb[j++] = rgba[i] / 255; rgb[j++] = rgba[i + 1] / 255; rgb[j++] = rgba[i + 2] / 255; }
  current = emotionInput(crop);
  const start = performance.now();
  const [emotion, mesh] = await Promise.all([
    predictEmotion(current.slice()),
    server.predict({ model: 'facemesh', inputs: { [facemeshInput]: { shape: [1, 192, 192, 3], data: rgb } } }),
  ]);
  const meshMs = performance.now() - start;
  const points = mesh.outputs.output_mesh.data;
  const flag = mesh.outputs.output_faceflag?.data[0] ?? NaN;
  const faceScore = flag >= 0 && flag <= 1 ? flag : 1 / (1 + Math.exp(-flag));
  const g = $('photo').getContext('2d');
  g.drawImage(crop, 0, 0, 384, 384);
  g.fillStyle = 'rgba(72, 255, 160, 0.9)';
  // The mesh comes in the crop's pixels (192×192); the photo is drawn at twice that.
  for (let i = 0; i < points.length; i += 3) g.fillRect(points[i] * 2 - 1.5, points[i + 1] * 2 - 1.5, 3, 3);
  bars($('photo-bars'), emotion.probs);
  const top = emotion.probs.indexOf(Math.max(...emotion.probs));
  $('photo-meta').textContent =
    `${sourceName}: ${EMOTIONS[top]} ${(emotion.probs[top] * 100).toFixed(0)}% (emotion v${emotion.version}, ${emotion.ms.toFixed(1)} ms) · ` +
    `${points.length / 3} mesh points, face score ${faceScore.toFixed(2)} (facemesh v${mesh.model.version}, ${meshMs.toFixed(1)} ms)`;
  demo.photo = { source: sourceName, emotion: EMOTIONS[top], emotionVersion: emotion.version, meshPoints: points.length / 3, faceScore, facemeshVersion: mesh.model.version };
}

async function showImage(src, name) {
  const img = new Image();
  img.src = src;
  await img.decode();
  centreCrop(img, img.naturalWidth, img.naturalHeight);
  await analyze(name);
}

for (const b of document.querySelectorAll('button.sample')) b.addEventListener('click', () => showImage(b.dataset.src, b.title));
$('file').addEventListener('change', async () => {
  const f = $('file').files[0];
  if (!f) return;
  stopCamera();
  const url = URL.createObjectURL(f);
  try {
    await showImage(url, f.name);
  } catch (e) {
    $('photo-meta').textContent = `cannot read ${f.name}: ${e.message}`;
  } finally {
    URL.revokeObjectURL(url);
  }
});

let stream = null;
function stopCamera() {
  if (!stream) return;
  for (const t of stream.getTracks()) t.stop();
  stream = null;
  $('camera').textContent = 'Use the camera';
}
if (!navigator.mediaDevices?.getUserMedia) {
  $('camera').disabled = true;
  $('camera-reason').textContent = 'No camera API here (it needs https:// or localhost).';
}
$('camera').addEventListener('click', async () => {
  if (stream) return stopCamera();
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    $('camera-reason').textContent = `Camera not available: ${e.name}${e.message ? ` (${e.message})` : ''}`;
    return;
  }
  $('camera-reason').textContent = '';
  $('camera').textContent = 'Stop the camera';
  const video = $('video');
  video.srcObject = stream;
  await video.play();
  // One frame at a time: the next frame is taken when the previous answer is drawn (no backlog).
  while (stream) {
    centreCrop(video, video.videoWidth, video.videoHeight);
    await analyze('camera');
    await new Promise((r) => requestAnimationFrame(r));
  }
});

// ---------------------------------------------------------------------------------------------------------
// Background traffic (what the plots show): the photo's emotion input, about 10 requests per second.

let traffic = true;
$('traffic').addEventListener('click', () => {
  traffic = !traffic;
  $('traffic').textContent = traffic ? 'Pause traffic' : 'Resume traffic';
});
setInterval(() => {
  if (!traffic || !current) return;
  predictEmotion(current.slice()).catch((e) => log(`traffic: ${e.code ?? 'ERROR'}: ${e.message}`));
}, 100);

// ---------------------------------------------------------------------------------------------------------
// Interactive slider: at most one request in flight; inputs made meanwhile replace each other; an answer
// older than the one shown is dropped, so results render in order.

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
  return emotionInput(c);
}

const slider = { seq: 0, shown: 0, inFlight: false, pending: null, inputs: 0, sent: 0, superseded: 0, stale: 0 };
demo.slider = slider;
function sliderStats() {
  $('slider-stats').textContent =
    `${slider.inputs} inputs → ${slider.sent} requests sent, ${slider.superseded} replaced before sending, ` +
    `${slider.stale} stale answers dropped; showing input #${slider.shown}`;
}
function onSliderInput() {
  slider.inputs++;
  if (slider.pending) slider.superseded++;
  slider.pending = { seq: ++slider.seq, data: drawFace() };
  sliderStats();
  return pump();
}
async function pump() {
  if (slider.inFlight || !slider.pending) return;
  const job = slider.pending;
  slider.pending = null;
  slider.inFlight = true;
  slider.sent++;
  try {
    const r = await predictEmotion(job.data);
    if (job.seq > slider.shown) {
      slider.shown = job.seq;
      demo.renderedSeqs.push(job.seq);
      bars($('emotion-bars'), r.probs);
      $('emotion-meta').textContent = `served by version ${r.version} in ${r.ms.toFixed(1)} ms`;
    } else slider.stale++;
  } catch (e) {
    $('emotion-meta').textContent = `${e.code ?? 'ERROR'}: ${e.message}`;
  } finally {
    slider.inFlight = false;
    sliderStats();
  }
  return pump();
}
$('smile').addEventListener('input', onSliderInput);
$('brows').addEventListener('input', onSliderInput);

/** After a swap: the photo and the drawn face again, served by the new version. */
async function refreshAll() {
  if (!stream && !analyzing) {
    analyzing = true;
    try {
      await analyze(demo.photo?.source ?? 'photo');
    } catch (e) {
      log(`refresh: ${e.message}`);
    } finally {
      analyzing = false;
    }
  }
  await onSliderInput();
}

// ---------------------------------------------------------------------------------------------------------
// Buttons.

$('poll').addEventListener('click', () => server.pollNow());
$('publish').addEventListener('click', async () => {
  publishing = true;
  updateNet();
  try {
    const res = await fetch('/admin/publish?model=emotion', { method: 'POST' });
    log(`publish: ${await res.text()}`);
    await server.pollNow('emotion');
  } catch (e) {
    log(`publish failed: ${e.message}`);
  } finally {
    publishing = false;
    updateNet();
  }
});
$('burst').addEventListener('click', async () => {
  const start = performance.now();
  const data = drawFace();
  const results = await Promise.allSettled(Array.from({ length: 32 }, () => predictEmotion(data.slice())));
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const ms = performance.now() - start;
  $('load-meta').textContent = `${ok}/32 answered in ${ms.toFixed(1)} ms (${((32 / ms) * 1000).toFixed(0)} predictions/s, batched in the worker)`;
});

// The demo's Service Worker, at the root scope: TF Serving's REST API on the device, handed to this page's
// server, and the app + library precached at install, so the next visit opens offline.
answerServiceWorkerRequests(server);
await registerRestServiceWorker('/sw.js');
const precache = (await caches.keys()).find((k) => k.startsWith('workbox-precache'));
$('precache').textContent = precache ? `${(await (await caches.open(precache)).keys()).length} files precached` : 'none';
$('rest').addEventListener('click', async () => {
  const res = await fetch('/v1/models/emotion:predict', {
    method: 'POST',
    body: JSON.stringify({ instances: [Array.from({ length: 64 }, () => Array.from({ length: 64 }, () => [0]))] }),
  });
  const text = await res.text();
  $('rest-out').textContent = `HTTP ${res.status} (answered on the device by the Service Worker and this page's worker)\n${text.slice(0, 600)}`;
});

const meta = await server.getModelMetadata('facemesh');
facemeshInput = Object.keys(meta.metadata.signature_def.signature_def.serving_default.inputs)[0];
await showImage('/samples/face-1.jpg', 'sample face 1');
await onSliderInput();
demo.server = server;
demo.ready = true;
