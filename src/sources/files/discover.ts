// Finds the input units for `adpipe ingest`: files under local paths or S3 prefixes, in name order
// (the simulator and most log shippers name files so that name order is arrival order).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AdpipeError } from '../../errors.js';
import type { Unit } from '../source.js';
import { type FormatInfo, formatOf } from './formats.js';
import { isS3Url, listS3 } from './s3.js';

export async function discoverInputs(paths: readonly string[]): Promise<Unit[]> {
  const found: Unit[] = [];
  for (const p of paths) {
    if (isS3Url(p)) found.push(...(await listS3(p)));
    else found.push(...(await listLocal(path.resolve(p))));
  }
  const seen = new Set<string>();
  return found.filter((f) => !seen.has(f.key) && seen.add(f.key)).sort((a, b) => a.key.localeCompare(b.key));
}

async function listLocal(p: string): Promise<Unit[]> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(p);
  } catch {
    throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [p, 'no such file or directory']);
  }
  if (st.isFile()) {
    const info = formatOf(p);
    if (!info)
      throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [
        p,
        'unknown format (expected .jsonl, .ndjson, .json, .csv, optionally .gz, or .parquet)',
      ]);
    return [localFile(p, st.size, info)];
  }
  if (!st.isDirectory()) throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [p, 'not a file or a directory']);
  const entries = await readdir(p, { recursive: true, withFileTypes: true }).catch((err: Error) => {
    throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [p, err.message], { cause: err });
  });
  const files: Unit[] = [];
  for (const e of entries) {
    if (!e.isFile() || e.name.startsWith('.')) continue;
    const info = formatOf(e.name);
    if (!info) continue;
    const full = path.join(e.parentPath, e.name);
    files.push(localFile(full, (await stat(full)).size, info));
  }
  return files;
}

function localFile(p: string, size: number, info: FormatInfo): Unit {
  return {
    key: p,
    size,
    info,
    fetch: async () => ({ localPath: p, hash: await hashFile(p), release: async () => undefined }),
  };
}

/** SHA-256 of a file's bytes, streamed. */
export async function hashFile(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}
