// Writes a "fine-tuned" copy of the real emotion model from npm (@vladmandic/human, MIT): the same
// graph and weights, except the classifier head's (its last layer: the 3×3 conv to the 7 emotions,
// `unknown_43` kernel and `unknown_44` bias) values, scaled and shifted. Used to measure what a
// client downloads for such a version when the publisher shards by weight.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { humanModel } from './models.js';

/** The weights of emotion's last layer. */
export const EMOTION_HEAD = ['unknown_43', 'unknown_44'] as const;

interface ManifestGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string }[];
}

/**
 * Writes emotion as a graph model directory (`model.json` + its `emotion.bin`) into `dir`, with the
 * last layer's weights altered by `step` (0: the original bytes). Returns the directory.
 */
export async function writeFineTunedEmotion(dir: string, step: number): Promise<string> {
  const source = humanModel('emotion');
  const json = JSON.parse(await readFile(source, 'utf8')) as { weightsManifest: ManifestGroup[] };
  const groups = json.weightsManifest;
  if (groups.length !== 1 || groups[0]?.paths.length !== 1) throw new Error('emotion.json: expected one weight group in one file');
  const group = groups[0];
  const bin = new Uint8Array(await readFile(join(dirname(source), group.paths[0]!)));
  let offset = 0;
  const altered: string[] = [];
  for (const w of group.weights) {
    const elements = w.shape.reduce((a, b) => a * b, 1);
    if (w.dtype !== 'float32' && w.dtype !== 'int32') throw new Error(`emotion.json: unexpected dtype ${w.dtype}`);
    if ((EMOTION_HEAD as readonly string[]).includes(w.name) && step !== 0) {
      const values = new Float32Array(bin.buffer, bin.byteOffset + offset, elements);
      for (let i = 0; i < values.length; i++) values[i] = values[i]! * (1 + 0.01 * step) + 0.001 * step * Math.sin(i);
      altered.push(w.name);
    }
    offset += 4 * elements;
  }
  if (offset !== bin.byteLength) throw new Error(`emotion.json describes ${offset} bytes, emotion.bin holds ${bin.byteLength}`);
  if (step !== 0 && altered.length !== EMOTION_HEAD.length) throw new Error(`emotion.json: found ${altered.join(', ')} of ${EMOTION_HEAD.join(', ')}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await writeFile(join(dir, group.paths[0]!), bin);
  return dir;
}
