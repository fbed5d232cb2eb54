// Trained models live as JSON in <data-dir>/models/<name>.json: written whole (temp file and
// rename), so a server reading one never sees half a model. Reads are cached until the file changes:
// the API checks it on every request, so a new training takes effect at once without a parse each time.

import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AdpipeError } from '../errors.js';

export type ModelName = 'ctr' | 'recommend';

export const modelPath = (dataDir: string, name: ModelName) => path.join(dataDir, 'models', `${name}.json`);

export async function saveModel(dataDir: string, name: ModelName, model: object): Promise<string> {
  const file = modelPath(dataDir, name);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(model, null, 2)}\n`);
  await rename(tmp, file);
  return file;
}

const cache = new Map<string, { version: string; model: unknown }>();

export async function loadModel<T>(dataDir: string, name: ModelName): Promise<T> {
  const file = modelPath(dataDir, name);
  const info = await stat(file).catch(() => undefined);
  if (!info) {
    cache.delete(file);
    throw new AdpipeError('ADP_ERR_MODEL_NOT_TRAINED', [name, name]);
  }
  const version = `${info.mtimeMs}:${info.size}:${info.ino}`;
  const hit = cache.get(file);
  if (hit?.version === version) return hit.model as T;
  const model = JSON.parse(await readFile(file, 'utf8')) as T;
  cache.set(file, { version, model });
  return model;
}
