// Input marked `accepted` (the collector's spool segments) skips the rules for its plain lines. A
// unit that is not what the collector writes, here one with a broken line, must not stall ingest:
// it is validated in full instead, the broken line dead-lettered and the rest kept.

import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { loadUnits } from '../../src/loader/loader.js';
import { hashFile } from '../../src/sources/files/discover.js';
import type { Unit } from '../../src/sources/source.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';

function acceptedInput(file: string): Unit {
  return {
    key: file,
    size: statSync(file).size,
    info: { format: 'jsonl', gzip: false },
    accepted: true,
    fetch: async () => ({ localPath: file, hash: await hashFile(file), release: async () => undefined }),
  };
}

describe('accepted input', () => {
  it('is validated in full when the trusted read fails on it', async () => {
    const dir = makeTempDir('accepted');
    const file = path.join(dir, 'seg.ndjson');
    const ok = (id: string) =>
      JSON.stringify({ event_id: id, type: 'click', ts: '2026-03-01T10:00:00.000Z' });
    writeFileSync(file, `${ok('a')}\n{"event_id":"b","type":"click",\n${ok('c')}\n`);
    const wh = await Warehouse.open(path.join(dir, 'data'));
    try {
      const summary = await loadUnits(wh, [acceptedInput(file)], { kind: 'http' });
      expect(summary).toMatchObject({ accepted: 2, rejected: 1, setAside: [] });
      const ids = await wh.all<{ event_id: string }>('SELECT event_id FROM seen_ids ORDER BY 1');
      expect(ids.map((r) => r.event_id)).toEqual(['a', 'c']);
    } finally {
      wh.close();
    }
  });

  it('keeps the first of an id repeated across and within segments, read in parallel', async () => {
    const dir = makeTempDir('accepted');
    const line = (i: number, media: string) =>
      `{"event_id":"id-${i}","type":"impression","ts":"2026-03-01T10:00:00.000Z","media_id":"${media}"}`;
    // Large enough for DuckDB to split each file into several parallel reads.
    const n = 60_000;
    const half = (from: number, media: string) =>
      Array.from({ length: n }, (_, i) => line(from + i, media)).join('\n');
    const first = path.join(dir, 'seg-1.ndjson');
    const second = path.join(dir, 'seg-2.ndjson');
    writeFileSync(first, `${half(0, 'first')}\n${half(n, 'first')}\n${half(0, 'later')}\n`);
    writeFileSync(second, `${half(n, 'later')}\n${half(2 * n, 'second')}\n`);
    const wh = await Warehouse.open(path.join(dir, 'data'));
    try {
      const summary = await loadUnits(wh, [acceptedInput(first), acceptedInput(second)], {
        kind: 'http',
        batchFiles: 2,
      });
      expect(summary).toMatchObject({ accepted: 3 * n, duplicates: 2 * n });
      const lake = await lakeRelation(wh);
      const kept = await wh.all<{ media_id: string; n: string }>(
        `SELECT media_id, count(*)::VARCHAR AS n FROM ${lake} GROUP BY ALL ORDER BY 1`,
      );
      expect(kept).toEqual([
        { media_id: 'first', n: String(2 * n) },
        { media_id: 'second', n: String(n) },
      ]);
    } finally {
      wh.close();
    }
  });

  it('lands its plain lines as the full validator would', async () => {
    const dir = makeTempDir('accepted');
    const file = path.join(dir, 'seg.ndjson');
    const line =
      '{"event_id":"a","type":"impression","ts":"2026-03-01T10:00:00.000Z","device":"mobile","revenue":"0.5"}';
    writeFileSync(file, `${line}\n`);
    const wh = await Warehouse.open(path.join(dir, 'data'));
    try {
      expect(await loadUnits(wh, [acceptedInput(file)], { kind: 'http' })).toMatchObject({ accepted: 1 });
      const rows = await wh.all<{ device: string; revenue: string }>(
        'SELECT device, sum(gross_revenue)::VARCHAR AS revenue FROM rollup_media GROUP BY ALL',
      );
      expect(rows).toEqual([{ device: 'MOBILE', revenue: '0.500000' }]);
    } finally {
      wh.close();
    }
  });
});
