// Finding 5: records nested thousands of levels deep. Each is rejected alone as record.too_deep and
// dead-lettered with its text; the records beside it and other clients' requests are kept.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startServer, type TestServer } from '../collector/server.js';
import { makeTempDir } from '../helpers/tmp.js';

const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const event = (id: string, more = '') =>
  `{"event_id":"${id}","type":"click","ts":"2026-01-01T00:00:00.000Z"${more}}`;

let s: TestServer | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

const post = (body: string, type = 'application/x-ndjson') =>
  fetch(`${s!.url}/v1/events`, { method: 'POST', headers: { 'content-type': type }, body });

function deadLetters(): Array<{ index: number; code: string; text: string }> {
  const dir = path.join(s!.dataDir, 'deadletter');
  return readdirSync(dir)
    .filter((f) => f.startsWith('http-'))
    .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l));
}

describe('deeply nested records', () => {
  it('rejects an element nested 10 000 deep in a JSON array and keeps the good one beside it', async () => {
    s = await startServer();
    const deep = event('deep', `,"p":${nested(10_000)}`);
    const res = await post(`[${event('good')},${deep}]`, 'application/json');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 1, code: 'record.too_deep' }],
    });
    const [dead] = deadLetters();
    expect(dead).toMatchObject({ index: 1, code: 'record.too_deep' });
    expect(dead!.text).toBe(deep);
  });

  it('rejects a single deep Segment call alone and records nothing of it', async () => {
    s = await startServer();
    const res = await fetch(`${s.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"event":"Ad Clicked","messageId":"m1","properties":{"p":${nested(10_000)}}}`,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      accepted: 0,
      rejected: 1,
      errors: [{ code: 'record.too_deep' }],
    });
  });

  it('an NDJSON line nested 100 000 deep fails neither the worker nor other clients queued on it', async () => {
    s = await startServer({ validator_threads: 1 });
    const deep = event('deep', `,"p":${nested(100_000)}`);
    const others = Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 200 }, (_, j) => event(`c${i}-${j}`)).join('\n'),
    );
    // The deep body first, the other clients' bodies queued behind it on the one worker.
    const answers = await Promise.all([post(`${event('beside')}\n${deep}\n`), ...others.map((b) => post(b))]);
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    const [mine, ...theirs] = await Promise.all(answers.map((r) => r.json()));
    expect(mine).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 1, code: 'record.too_deep' }] });
    for (const t of theirs) expect(t).toMatchObject({ accepted: 200, rejected: 0 });
    expect(deadLetters()).toEqual([
      expect.objectContaining({ index: 1, code: 'record.too_deep', text: deep }),
    ]);
  });

  it('file ingest (the SQL validator) rejects a deep line for the same reason and keeps the rest', async () => {
    const dir = makeTempDir('deep-ingest');
    const input = `${dir}/events.jsonl`;
    const deep = event('deep', `,"p":${nested(100_000)}`);
    writeFileSync(input, `${event('f1')}\n${deep}\n${event('f2', `,"p":${nested(63)}`)}\n`);
    process.exitCode = undefined;
    await main(['node', 'adpipe', '--data-dir', `${dir}/data`, 'ingest', input]);
    expect(process.exitCode ?? 0).toBe(0);
    s = await startServer({}, `${dir}/data`);
    const res = await fetch(`${s.url}/v1/deadletter`);
    const records = (await res.json()).records;
    expect(records).toEqual([expect.objectContaining({ code: 'record.too_deep', line: 2, text: deep })]);
    const pipeline = await (await fetch(`${s.url}/v1/pipeline`)).json();
    expect(pipeline.files).toMatchObject({ accepted: 2, rejected: 1 });
  });
});
