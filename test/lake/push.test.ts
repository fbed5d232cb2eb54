// lake push against the real S3 server: a lake pushed as dt=/hour= partitions, then read back by
// `adpipe ingest s3://…` (discoverInputs + loadUnits, the command's code path) into an empty
// data dir gives identical reports; a second push uploads nothing; after a compaction the bucket
// mirrors the manifest again (no event twice).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { compactLake } from '../../src/lake/compact.js';
import { listKeys, pushLake } from '../../src/lake/push.js';
import { loadUnits } from '../../src/loader/loader.js';
import { runReport } from '../../src/reports/query.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { useTestBucket } from '../helpers/s3.js';
import { describeWith, s3TestEnv } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

const HOURS = 30;

/** `perHour` events in each of `hours` hours from `start`, revenue with six decimals. */
function eventsFile(dir: string, name: string, start: number, hours: number, perHour: number): string {
  const lines: string[] = [];
  for (let h = start; h < start + hours; h++) {
    for (let i = 0; i < perHour; i++) {
      const ts = new Date(Date.UTC(2026, 2, 1, h, i)).toISOString();
      const type = i % 4 === 3 ? 'click' : 'impression';
      lines.push(
        JSON.stringify({
          event_id: `${name}-${h}-${i}`,
          type,
          ts,
          media_id: `m${i % 3}`,
          revenue: `0.00${i}017`,
        }),
      );
    }
  }
  const file = path.join(dir, `${name}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function reports(wh: Warehouse) {
  return {
    hourly: (await runReport(wh, { report: 'ad', grain: 'hour', by: ['media_id'] })).rows,
    events: await wh.all('SELECT batch_id IS NOT NULL AS b, count(*)::INT AS n FROM lake_files GROUP BY 1'),
  };
}

async function ingestFromS3(url: string) {
  const wh = await Warehouse.open(makeTempDir('push-from-s3'));
  const summary = await loadUnits(wh, await discoverInputs([url]));
  return { wh, summary };
}

(await describeWith('s3'))('lake push to S3 (Swift + s3api)', () => {
  const s3 = useTestBucket('push');
  beforeAll(() => {
    Object.assign(process.env, s3TestEnv());
  });

  it('pushes partitions new since the watermark; ingest from S3 gives identical reports', async () => {
    const input = makeTempDir('push-input');
    const wh = await Warehouse.open(makeTempDir('push-lake'));
    try {
      await loadUnits(wh, await discoverInputs([eventsFile(input, 'a', 0, HOURS, 8)]));
      const url = `s3://${s3.bucket}/lake`;
      const first = await pushLake(wh, url, s3.client);
      expect(first).toMatchObject({ from: 0, to: 1, partitions: HOURS, uploaded: HOURS, deleted: 0 });
      const keys = [...(await listKeys(s3.client, s3.bucket, 'lake/')).keys()];
      expect(
        keys.filter((k) => /^lake\/dt=2026-03-0[12]\/hour=\d\d\/b1_[0-9a-f-]+\.parquet$/.test(k)),
      ).toHaveLength(HOURS);
      expect(keys).toContain('lake/_adpipe/push.watermark');

      expect(await pushLake(wh, url, s3.client)).toMatchObject({
        from: 1,
        to: 1,
        partitions: 0,
        uploaded: 0,
      });

      const back = await ingestFromS3(`${url}/`);
      try {
        expect(back.summary).toMatchObject({
          filesRead: HOURS,
          accepted: HOURS * 8,
          rejected: 0,
          duplicates: 0,
        });
        expect(await reports(back.wh)).toEqual(await reports(wh));
      } finally {
        back.wh.close();
      }

      // More events in two old hours and one new hour, then a compaction that rewrites partitions
      // into c-files: the next push touches only those partitions and leaves no file twice.
      await loadUnits(wh, await discoverInputs([eventsFile(input, 'b', HOURS - 2, 3, 4)]));
      const compacted = await compactLake(wh);
      const second = await pushLake(wh, url, s3.client);
      expect(second.from).toBe(1);
      expect(second.partitions).toBe(3);
      // The two old hours were compacted (b1 + b2 → one c-file each): their pushed b1 files go.
      expect(compacted).toMatchObject({ partitions: 2, filesBefore: 4, filesAfter: 2 });
      expect(second).toMatchObject({ uploaded: 3, deleted: 2 });
      const manifest = await wh.all<{ n: number }>('SELECT count(*)::INT AS n FROM lake_files');
      const parquet = [...(await listKeys(s3.client, s3.bucket, 'lake/dt=')).keys()];
      expect(parquet).toHaveLength(manifest[0]?.n ?? -1);

      const again = await ingestFromS3(`${url}/`);
      try {
        expect(again.summary).toMatchObject({ accepted: HOURS * 8 + 12, duplicates: 0, rejected: 0 });
        expect((await reports(again.wh)).hourly).toEqual((await reports(wh)).hourly);
      } finally {
        again.wh.close();
      }
    } finally {
      wh.close();
    }
  });
});
