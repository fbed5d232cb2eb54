// Trained models live as JSON in <data-dir>/models/<name>.json: written whole (temp file and
// rename), so a server reading one never sees half a model.

import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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

export async function loadModel<T>(dataDir: string, name: ModelName): Promise<T> {
  const file = modelPath(dataDir, name);
  if (!existsSync(file)) throw new AdpipeError('ADP_ERR_NO_MODEL', [name, name]);
  return JSON.parse(await readFile(file, 'utf8')) as T;
}
