import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/simulator/index.js';
import { micros } from '../helpers/money.js';
import { readLines, scratchDir } from './files.js';

const root = path.resolve('.');
const TMP = scratchDir('cli');
const dir = (name: string) => path.join(TMP, name);

function adpipe(...args: string[]) {
  return spawnSync(process.execPath, [path.join(root, 'bin/adpipe.js'), ...args], { encoding: 'utf8' });
}

function manifestOf(out: string): Manifest {
  return JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
}

beforeAll(() => {
  // The bin runs dist/; type errors elsewhere in the tree must not stop the emit this test needs.
  spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root]);
});
afterAll(() => {
  for (const name of ['jsonl', 'w0', 'w2', 'csv', 'parquet'])
    rmSync(dir(name), { recursive: true, force: true });
});

describe('adpipe generate', () => {
  it('writes events, metadata and a manifest', () => {
    const r = adpipe(
      'generate',
      '-o',
      dir('jsonl'),
      '-n',
      '6000',
      '--files',
      '3',
      '--seed',
      '5',
      '--hours',
      '6',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/wrote 6000 events \(6000 records\) in 3 files/);
    const m = manifestOf(dir('jsonl'));
    expect(m.options).toMatchObject({ events: 6000, files: 3, hours: 6, format: 'jsonl.gz', dirty: 0 });
    expect(readdirSync(path.join(dir('jsonl'), 'metadata')).sort()).toEqual(
      ['campaigns.csv', 'demand.csv', 'inventory.csv', 'media.csv', 'orgs.csv'].sort(),
    );
    expect(readLines(dir('jsonl')).reduce((a, f) => a + f.lines.length, 0)).toBe(6000);
  });

  it('writes the same bytes with and without worker threads', () => {
    const args = ['-n', '9000', '--files', '4', '--seed', '2', '--dirty', '0.05'];
    expect(adpipe('generate', '-o', dir('w0'), ...args, '--workers', '0').status).toBe(0);
    expect(adpipe('generate', '-o', dir('w2'), ...args, '--workers', '2').status).toBe(0);
    expect(readLines(dir('w2'))).toEqual(readLines(dir('w0')));
    expect(manifestOf(dir('w2'))).toEqual(manifestOf(dir('w0')));
  });

  it('writes CSV with the contract columns', () => {
    expect(adpipe('generate', '-o', dir('csv'), '-n', '3000', '--files', '2', '--format', 'csv').status).toBe(
      0,
    );
    const files = readLines(dir('csv'));
    const header = files[0]!.lines[0]!.split(',');
    expect(header.slice(0, 4)).toEqual(['event_id', 'type', 'name', 'ts']);
    expect(header).toContain('revenue');
    const rows = files.flatMap((f) => f.lines.slice(1));
    expect(rows.length).toBe(3000);
    expect(rows.every((r) => r.split(',').length === header.length)).toBe(true);
  });

  it('writes Parquet whose totals match the manifest', async () => {
    const r = adpipe('generate', '-o', dir('parquet'), '-n', '3000', '--files', '2', '--format', 'parquet');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = manifestOf(dir('parquet'));
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const glob = path.join(dir('parquet'), 'events', '*.parquet');
    const reader = await conn.runAndReadAll(
      `SELECT count(*)::VARCHAR AS n, sum(CAST(revenue AS DECIMAL(18,6)))::VARCHAR AS revenue
       FROM read_parquet('${glob}') WHERE type = 'impression'`,
    );
    const [row] = reader.getRowObjects();
    conn.closeSync();
    db.closeSync();
    expect(Number(row!.n)).toBe(m.by_type.impression.count);
    expect(micros(row!.revenue)).toBe(micros(m.by_type.impression.revenue));
  });

  it('rejects a bad option with exit code 2', () => {
    const r = adpipe('generate', '-o', dir('bad'), '--format', 'xml');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/format/);
  });
});
