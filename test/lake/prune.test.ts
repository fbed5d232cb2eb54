// lake prune against the real S3 server: partitions older than the cutoff deleted locally and in a
// lake sink's copy, a partition the sink has not pushed yet kept (said why), a dry run changes
// nothing; reports stay exact (the rollups keep their rows), verify still passes, and the activity
// tables are rebuilt from what is left in the lake.

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { activityOf } from '../../src/analyses/activity.js';
import { s3ClientFromEnv } from '../../src/lake/object-store.js';
import { pruneLake } from '../../src/lake/prune.js';
import { listKeys, pushLake } from '../../src/lake/push.js';
import { loadUnits } from '../../src/loader/loader.js';
import { verifyWarehouse } from '../../src/pipeline/verify-warehouse.js';
import { runReport } from '../../src/reports/query.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { useTestBucket } from '../helpers/s3.js';
import { describeWith, s3TestEnv } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

/** Three events per hour, of users u0..u2. */
async function load(wh: Warehouse, dir: string, name: string, hours: number[]): Promise<void> {
  const lines = hours.flatMap((h) =>
    [0, 1, 2].map((i) =>
      JSON.stringify({
        event_id: `${name}-${h}-${i}`,
        type: 'impression',
        ts: new Date(Date.UTC(2026, 2, 1, h, i * 10)).toISOString(),
        media_id: 'm1',
        user_id: `u${i}`,
        revenue: '0.000137',
      }),
    ),
  );
  const file = path.join(dir, `${name}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  await loadUnits(wh, await discoverInputs([file]));
}

const HOUR = 3_600_000;
const NOW = new Date('2026-03-01T05:00:00Z');

(await describeWith('s3'))('lake prune (Swift + s3api)', () => {
  const s3 = useTestBucket('prune');
  beforeAll(() => {
    Object.assign(process.env, s3TestEnv());
  });

  it('prunes old pushed partitions here and in S3, keeps unpushed ones, reports and verify stay exact', async () => {
    const wh = await Warehouse.open(makeTempDir('prune'));
    const input = makeTempDir('prune-in');
    const client = s3ClientFromEnv();
    const url = `s3://${s3.bucket}/copy`;
    const copies = [{ sink: 'lake', url }];
    try {
      await load(wh, input, 'a', [1, 2]); // batch 1
      await load(wh, input, 'b', [3]); // batch 2
      await pushLake(wh, url, client, { upTo: 1 });
      const report = async () =>
        (await runReport(wh, { report: 'ad', grain: 'hour', by: ['media_id'] })).rows;
      const before = await report();
      const activityEvents = async () => {
        const a = await activityOf(wh);
        return Number(
          (await wh.one<{ n: string }>(`SELECT sum(events)::VARCHAR AS n FROM ${a.quarters}`))!.n,
        );
      };
      expect(await activityEvents()).toBe(9);
      const files = await wh.all<{ path: string }>("SELECT path FROM lake_files WHERE hour IN ('01', '02')");
      expect(files.length).toBe(2);

      // Hours ending at or before 04:00: 01, 02 (pushed) and 03 (batch 2, not pushed yet).
      const dry = await pruneLake(wh, HOUR, { copies, client, dryRun: true, now: NOW });
      expect(dry.pruned.map((p) => [p.hour, p.files, p.rows])).toEqual([
        ['01', 1, 3],
        ['02', 1, 3],
      ]);
      expect(dry.skipped).toEqual([
        {
          dt: '2026-03-01',
          hour: '03',
          reason: 'not yet pushed to lake sink lake (batch 2, its watermark 1)',
        },
      ]);
      for (const f of files) expect(existsSync(path.join(wh.lakeDir, f.path))).toBe(true);

      const done = await pruneLake(wh, HOUR, { copies, client, now: NOW });
      expect(done.pruned.map((p) => [p.hour, p.objects])).toEqual([
        ['01', 1],
        ['02', 1],
      ]);
      expect(done.skipped.map((p) => p.hour)).toEqual(['03']);
      for (const f of files) expect(existsSync(path.join(wh.lakeDir, f.path))).toBe(false);
      const left = await wh.all<{ hour: string }>('SELECT DISTINCT hour FROM lake_files ORDER BY hour');
      expect(left).toEqual([{ hour: '03' }]);
      const remote = [...(await listKeys(client, s3.bucket, 'copy/dt=')).keys()];
      expect(remote.some((k) => k.includes('hour=01') || k.includes('hour=02'))).toBe(false);

      expect(await report()).toEqual(before); // from the rollups, which keep their rows
      expect((await verifyWarehouse(wh)).checks.filter((c) => !c.ok)).toEqual([]);
      expect(await activityEvents()).toBe(3); // rebuilt from the lake that is left

      // Once pushed, hour 03 goes too.
      await pushLake(wh, url, client);
      const later = await pruneLake(wh, HOUR, { copies, client, now: NOW });
      expect(later.pruned.map((p) => p.hour)).toEqual(['03']);
      expect(await activityEvents()).toBe(0);
      expect((await verifyWarehouse(wh)).checks.filter((c) => !c.ok)).toEqual([]);
    } finally {
      client.destroy();
      wh.close();
    }
  }, 120_000);
});
