// Finding 8: a data dir whose name holds glob characters (`[x]`, `*`, `{a,b}`) and a quote. DuckDB
// expands globs in read_* paths, so such a dir broke the dead-letter reader (500 naming the path).
// Ingest, the collector, its drain, the dead letters and the pipeline view work in it end to end.
// A `?` DuckDB cannot take in a database path at all: such a data dir is refused with a reason.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { lakeCounts, startServer, type TestServer } from '../collector/server.js';
import { makeTempDir } from '../helpers/tmp.js';

const root = makeTempDir('glob-paths');
const dataDir = path.join(root, `d[x]*{a,b}'q`);
// A sibling that the unescaped glob would match instead (`[x]` matches `x`).
const decoy = path.join(root, `dx-decoy{a,b}'q`);

let s: TestServer | undefined;
afterAll(() => s?.stop());

const event = (id: string, more = '') =>
  `{"event_id":"${id}","type":"click","ts":"2026-01-01T00:00:00.000Z"${more}}`;

describe('a data dir named with glob characters and a quote', () => {
  it('ingests, collects, drains, and serves dead letters and reports', async () => {
    mkdirSync(path.join(decoy, 'deadletter'), { recursive: true });
    writeFileSync(path.join(decoy, 'deadletter', 'x.ndjson'), '{"code":"decoy.code"}\n');
    const input = path.join(root, 'events.jsonl');
    writeFileSync(input, `${event('f1')}\n${event('f2')}\n${event('bad-file', ',"revenue":"-1"')}\n`);
    process.exitCode = undefined;
    await main(['node', 'adpipe', '--data-dir', dataDir, 'ingest', input]);
    expect(process.exitCode ?? 0).toBe(0);

    s = await startServer({}, dataDir);
    const res = await fetch(`${s.url}/v1/events`, {
      method: 'POST',
      body: `${event('h1')}\n${event('bad-http', ',"cost":"x"')}\n`,
    });
    expect(await res.json()).toMatchObject({ accepted: 1, rejected: 1 });
    await expect.poll(() => lakeCounts(s!.warehouse), { timeout: 20_000 }).toEqual({ click: 3 });

    const dead = await fetch(`${s.url}/v1/deadletter`);
    expect(dead.status).toBe(200);
    const codes = (await dead.json()).records.map((r: { code: string }) => r.code).sort();
    expect(codes).toEqual(['money.invalid', 'money.negative']);
    const pipeline = await fetch(`${s.url}/v1/pipeline`);
    expect(pipeline.status).toBe(200);
    expect((await pipeline.json()).files).toMatchObject({ accepted: 3, rejected: 1 });
  });

  it('refuses a data dir whose path holds a "?" with a reason', async () => {
    const errors: string[] = [];
    const error = console.error;
    console.error = (m: string) => errors.push(m);
    try {
      await main([
        'node',
        'adpipe',
        '--data-dir',
        path.join(root, 'what?'),
        'ingest',
        path.join(root, 'events.jsonl'),
      ]);
    } finally {
      console.error = error;
    }
    expect(process.exitCode).toBe(2);
    process.exitCode = undefined;
    expect(errors.join('\n')).toMatch(/ADP_ERR_CONFIG: .*may not contain "\?"/);
  });
});
