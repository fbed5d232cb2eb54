// Reading what the simulator wrote, independently of its own code: gunzip, split lines, parse money
// into BigInt micros.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Scratch directory of one test file; each file has its own, since vitest runs files in parallel. */
export function scratchDir(suite: string): string {
  return path.resolve('test/tmp/simulator', suite);
}

/** Each event file's lines, in file-name (arrival) order. */
export function readLines(out: string): Array<{ file: string; lines: string[] }> {
  const dir = path.join(out, 'events');
  return readdirSync(dir)
    .sort()
    .map((file) => {
      const raw = readFileSync(path.join(dir, file));
      const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
      return { file, lines: text.split('\n').filter((l) => l !== '') };
    });
}

export function tryParse(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** A metadata CSV as rows keyed by header (the simulator never quotes). */
export function readCsv(file: string): Array<Record<string, string>> {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = header!.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i], v])));
}
