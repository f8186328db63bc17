/**
 * Reading a SavedModel directory: `saved_model.pb` (or an error naming what
 * is there instead) and the choice of a MetaGraphDef by tag-set.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConverterError } from '../errors.js';
import { decodeSavedModel, type MetaGraphDef, type SavedModel } from '../proto/messages.js';

export interface SavedModelDir {
  dir: string;
  savedModel: SavedModel;
  /** Byte size of saved_model.pb plus the variables. */
  byteSize: number;
}

export function readSavedModel(dir: string): SavedModelDir {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ConverterError('NOT_FOUND', `SavedModel directory ${dir} does not exist`);
  }
  const pb = join(dir, 'saved_model.pb');
  if (!existsSync(pb)) {
    const txt = join(dir, 'saved_model.pbtxt');
    if (existsSync(txt)) {
      throw new ConverterError('UNIMPLEMENTED', `${dir} holds saved_model.pbtxt (text format); only the binary saved_model.pb is supported`);
    }
    const entries = readdirSync(dir);
    const legacy = entries.includes('export.meta') ? ' (it looks like a legacy SessionBundle export: export.meta, not a SavedModel)' : '';
    throw new ConverterError(
      'NOT_FOUND',
      `no saved_model.pb in ${dir}${legacy}; found: ${entries.length ? entries.join(', ') : 'nothing'}. Expected a SavedModel directory with saved_model.pb and variables/`,
    );
  }
  const bytes = readFileSync(pb);
  let savedModel: SavedModel;
  try {
    savedModel = decodeSavedModel(bytes);
  } catch (e) {
    if (e instanceof ConverterError) {
      throw new ConverterError('DATA_LOSS', `${pb} is not a valid SavedModel protobuf: ${e.message}`);
    }
    throw e;
  }
  if (savedModel.metaGraphs.length === 0) {
    throw new ConverterError('INVALID_ARGUMENT', `${pb} holds no MetaGraphDef`);
  }
  let byteSize = bytes.length;
  const vdir = join(dir, 'variables');
  if (existsSync(vdir)) for (const f of readdirSync(vdir)) byteSize += statSync(join(vdir, f)).size;
  return { dir, savedModel, byteSize };
}

export function tagSetsOf(sm: SavedModel): string[][] {
  return sm.metaGraphs.map((m) => m.metaInfoDef?.tags ?? []);
}

/** Picks the MetaGraphDef whose tag set equals `tags` (order-insensitive). */
export function selectMetaGraph(sm: SavedModel, tags: readonly string[], where = 'SavedModel'): MetaGraphDef {
  const want = [...new Set(tags)].sort().join(',');
  for (const m of sm.metaGraphs) {
    const have = [...new Set(m.metaInfoDef?.tags ?? [])].sort().join(',');
    if (have === want) return m;
  }
  const avail = tagSetsOf(sm)
    .map((t) => `[${t.join(',')}]`)
    .join(' ');
  throw new ConverterError('NOT_FOUND', `${where} has no MetaGraphDef with tag-set [${tags.join(',')}]; available tag-sets: ${avail}`);
}
