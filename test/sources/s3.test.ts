// `adpipe ingest s3://bucket/prefix` over real HTTP against s3rver, an S3-compatible server (the
// AWS endpoint is not reachable from here), through the same AWS SDK v3 code path as production.

import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUnits } from '../../src/loader/loader.js';
import { runReport } from '../../src/reports/query.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';

const line = (id: string, type: string, revenue = '0') =>
  JSON.stringify({ event_id: id, type, ts: '2026-03-01T10:00:00Z', media_id: 'm1', revenue });

describe('S3 input', () => {
  let server: S3rver;
  let endpoint: string;

  beforeAll(async () => {
    server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: makeTempDir('s3rver'),
      configureBuckets: [{ name: 'logs' }],
    });
    const { port } = (await server.run()) as { port: number };
    endpoint = `http://127.0.0.1:${port}`;
    process.env.AWS_ENDPOINT_URL_S3 = endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    const s3 = new S3Client({
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const put = (Key: string, Body: Buffer | string) =>
      s3.send(new PutObjectCommand({ Bucket: 'logs', Key, Body }));
    await put(
      '2026/03/01/a.jsonl.gz',
      gzipSync([line('1', 'impression', '0.100001'), line('2', 'click'), 'not json'].join('\n')),
    );
    await put(
      '2026/03/01/b.jsonl',
      [line('3', 'impression', '0.2'), line('1', 'impression', '5')].join('\n'),
    );
    await put('2026/03/01/notes.txt', 'ignored: not an event format');
    await put('2026/03/02/c.jsonl', line('4', 'impression', '1'));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('lists only event files under the prefix, in name order', async () => {
    const inputs = await discoverInputs(['s3://logs/2026/03/01/']);
    expect(inputs.map((i) => i.key)).toEqual([
      's3://logs/2026/03/01/a.jsonl.gz',
      's3://logs/2026/03/01/b.jsonl',
    ]);
  });

  it('ingests objects exactly once, with exact money, and skips them on the next run', async () => {
    const wh = await Warehouse.open(makeTempDir('s3-wh'));
    try {
      const first = await loadUnits(wh, await discoverInputs(['s3://logs/2026/03/01/']));
      expect(first).toMatchObject({ filesRead: 2, accepted: 3, duplicates: 1, rejected: 1 });
      const report = await runReport(wh, { report: 'ad', grain: 'total', by: ['media_id'] });
      expect(report.rows).toEqual([
        expect.objectContaining({ media_id: 'm1', impressions: 2, clicks: 1, revenue: '0.300001' }),
      ]);
      const again = await loadUnits(wh, await discoverInputs(['s3://logs/2026/03/01/']));
      expect(again).toMatchObject({ filesRead: 0, filesSkipped: 2, accepted: 0 });
      const ledger = await wh.all<{ path: string }>('SELECT path FROM ledger ORDER BY path');
      expect(ledger.map((r) => r.path)).toEqual([
        's3://logs/2026/03/01/a.jsonl.gz',
        's3://logs/2026/03/01/b.jsonl',
      ]);
    } finally {
      wh.close();
    }
  });

  it('fails clearly for a bucket that does not exist', async () => {
    await expect(discoverInputs(['s3://no-such-bucket/x'])).rejects.toThrow(
      /cannot read input s3:\/\/no-such-bucket\/x/,
    );
  });
});
