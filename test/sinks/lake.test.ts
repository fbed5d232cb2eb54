// The lake-push sink against the real S3 server (Swift + s3api): the runtime's sink subscribers keep
// the bucket's copy current after each commit (its watermark = the last batch), `sink status|sync`
// (src/admin/operations.ts) report and move it, and a batch of only duplicates still moves it.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { sinkStatuses, syncSinks } from '../../src/admin/operations.js';
import { parseConfig } from '../../src/config.js';
import { listKeys } from '../../src/lake/push.js';
import { loadUnits } from '../../src/loader/loader.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { startSinkSubscribers } from '../../src/sinks/subscriber.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { FilesSource } from '../../src/sources/files/source.js';
import { latestBatch } from '../../src/warehouse/batches.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { useTestBucket } from '../helpers/s3.js';
import { describeWith, s3TestEnv } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

function eventsFile(dir: string, name: string, hours: number[]): string {
  const lines = hours.map((h, i) =>
    JSON.stringify({
      event_id: `${name}-${i}`,
      type: 'impression',
      ts: new Date(Date.UTC(2026, 2, 1, h)).toISOString(),
      media_id: 'm1',
      revenue: '0.000100',
    }),
  );
  const file = path.join(dir, `${name}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

(await describeWith('s3'))('lake-push sink (Swift + s3api)', () => {
  const s3 = useTestBucket('lakesink');
  beforeAll(() => {
    Object.assign(process.env, s3TestEnv());
  });

  it('is kept current by the runtime after each commit; sink status and sync report and move it', async () => {
    const url = `s3://${s3.bucket}/copy`;
    const config = parseConfig({ tz: 'UTC', sinks: [{ type: 'lake', url }] });
    const wh = await Warehouse.open(makeTempDir('lake-sink'));
    const input = makeTempDir('lake-sink-in');
    try {
      eventsFile(input, 'a', [1, 2]);
      eventsFile(input, 'b', [2, 3]);
      const sinks = await startSinkSubscribers(config, wh, { debounceMs: 10 });
      const runtime = await Runtime.open(wh, sinks);
      const source = await FilesSource.create({
        type: 'files',
        name: 'files',
        paths: [input],
        batch_files: 1,
        reprocess: false,
      });
      await runtime.run(source);
      await runtime.close(); // waits for the sinks' last sync
      const keys = [...(await listKeys(s3.client, s3.bucket, 'copy/')).keys()];
      expect(
        keys.filter((k) => k.endsWith('.parquet')).map((k) => k.split('/').slice(1, 3).join('/')),
      ).toEqual([
        'dt=2026-03-01/hour=01',
        'dt=2026-03-01/hour=02',
        'dt=2026-03-01/hour=02',
        'dt=2026-03-01/hour=03',
      ]);
      const [status] = await sinkStatuses(wh, config);
      expect(status).toEqual({
        sink: 'lake',
        result: [expect.objectContaining({ table: 'partitions', watermark: 2, latest: 2, lag: 0 })],
      });

      // Loaded without the runtime's subscribers: behind until `sink sync`; a batch of duplicates only
      // writes no lake file, yet the watermark moves past it.
      await loadUnits(wh, await discoverInputs([eventsFile(input, 'c', [4])]));
      writeFileSync(
        path.join(input, 'dup.jsonl'),
        `${JSON.stringify({ event_id: 'c-0', type: 'impression', ts: '2026-03-01T04:00:00Z', media_id: 'm1', revenue: '0.000100' })}\n`,
      );
      await loadUnits(wh, await discoverInputs([path.join(input, 'dup.jsonl')]));
      const latest = await latestBatch(wh);
      expect((await sinkStatuses(wh, config))[0]).toEqual({
        sink: 'lake',
        result: [expect.objectContaining({ watermark: 2, latest, lag: latest - 2 })],
      });
      const [synced] = await syncSinks(wh, config, 'lake', 1);
      expect(synced).toMatchObject({ sink: 'lake' });
      expect((await sinkStatuses(wh, config))[0]).toEqual({
        sink: 'lake',
        result: [expect.objectContaining({ watermark: latest, lag: 0 })],
      });
      const hours = [...(await listKeys(s3.client, s3.bucket, 'copy/')).keys()].filter((k) =>
        k.includes('hour=04'),
      );
      expect(hours).toHaveLength(1);
    } finally {
      wh.close();
    }
  }, 120_000);
});
