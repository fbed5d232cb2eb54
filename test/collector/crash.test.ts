// SIGKILL a real `adpipe serve` in the middle of a load, restart it, let clients retry what was not
// acknowledged, and prove every event is in the lake and the reports exactly once.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { formatMicros } from '../../src/money.js';
import { runReport } from '../../src/reports/query.js';
import { Spool } from '../../src/sources/spool/spool.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';
import { serve } from './serve.js';

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

const TYPES = ['request', 'response', 'impression', 'click'] as const;

function batch(client: number, n: number, size: number): { ids: string[]; body: string } {
  const ids: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < size; i++) {
    const id = `c${client}-b${n}-${i}`;
    ids.push(id);
    const type = TYPES[(client + n + i) % TYPES.length];
    lines.push(
      JSON.stringify({ event_id: id, type, ts: '2025-05-05T05:05:05Z', media_id: 'm1', revenue: '0.000100' }),
    );
  }
  return { ids, body: lines.join('\n') };
}

describe('crash safety', () => {
  it('keeps every acknowledged event exactly once across SIGKILL and restart', async () => {
    const dataDir = makeTempDir('crash');
    const config = path.join(dataDir, 'adpipe.yaml');
    writeFileSync(config, 'server:\n  drain_interval_ms: 150\n  drain_events: 3000\n');
    const first = await serve(dataDir, config);

    const acked = new Set<string>();
    const unacked: Array<{ ids: string[]; body: string }> = [];
    const sent = new Set<string>();
    let stop = false;
    const client = async (c: number) => {
      for (let n = 0; !stop; n++) {
        const b = batch(c, n, 250);
        for (const id of b.ids) sent.add(id);
        try {
          const res = await fetch(`${first.url}/v1/events`, {
            method: 'POST',
            body: b.body,
            headers: { 'content-type': 'application/x-ndjson' },
          });
          const out = (await res.json()) as { accepted: number };
          expect(out.accepted).toBe(250);
          for (const id of b.ids) acked.add(id);
        } catch {
          unacked.push(b);
          return;
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    // Let several drains commit (and some segments sit between commit and delete) before the kill.
    await new Promise((r) => setTimeout(r, 2500));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(clients);
    await exited(first.child);
    expect(acked.size).toBeGreaterThan(5000);

    const second = await serve(dataDir, config);
    // Clients retry what they never saw acknowledged; events that did land are duplicates now.
    for (const b of unacked) {
      const res = await fetch(`${second.url}/v1/events`, {
        method: 'POST',
        body: b.body,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      expect(res.status).toBe(200);
      for (const id of b.ids) acked.add(id);
    }
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    expect(readdirSync(path.join(dataDir, 'spool')).filter((f) => f.endsWith('.ndjson'))).toEqual([]);

    const wh = await Warehouse.open(dataDir, { readOnly: true });
    try {
      const lake = await lakeRelation(wh);
      const totals = await wh.one<{ n: string; ids: string }>(
        `SELECT count(*)::VARCHAR AS n, count(DISTINCT event_id)::VARCHAR AS ids FROM ${lake}`,
      );
      expect(Number(totals!.n)).toBe(acked.size);
      expect(Number(totals!.ids)).toBe(acked.size);
      expect(acked.size).toBe(sent.size);
      const expected = { request: 0, response: 0, impression: 0, click: 0 };
      for (const id of acked) {
        const [c, b, i] = id.slice(1).split(/-b|-/).map(Number);
        expected[TYPES[(c! + b! + i!) % TYPES.length]!]++;
      }
      const ad = await runReport(wh, {
        report: 'ad',
        from: '2025-05-05',
        to: '2025-05-05',
        grain: 'total',
        by: [],
      });
      const req = await runReport(wh, {
        report: 'ad_request',
        from: '2025-05-05',
        to: '2025-05-05',
        grain: 'total',
        by: [],
      });
      expect({
        request: Number(req.rows[0]!.requests),
        response: Number(req.rows[0]!.responses),
        impression: Number(ad.rows[0]!.impressions),
        click: Number(ad.rows[0]!.clicks),
      }).toEqual(expected);
      // Every event carried 0.0001; ad revenue is that of impressions and clicks, summed exactly.
      expect(ad.rows[0]!.revenue).toBe(formatMicros((expected.impression + expected.click) * 100));
    } finally {
      wh.close();
    }
  });

  it('cuts a torn last line (an unacknowledged write) instead of dead-lettering it', async () => {
    const dir = makeTempDir('spool');
    const seg = path.join(dir, 'seg-1700000000000-1-000001.ndjson');
    const line = '{"event_id":"a","type":"click","ts":"2025-01-01T00:00:00Z"}\n';
    writeFileSync(seg, `${line}{"event_id":"b","ty`);
    const spool = await Spool.open(dir, { segmentEvents: 100 });
    const bytes = Buffer.byteLength(line);
    expect(spool.drainable()).toEqual([{ file: seg, createdMs: 1700000000000, events: 1, bytes }]);
    expect(readFileSync(seg, 'utf8')).toBe(line);
    expect(spool.depth()).toEqual({ events: 1, bytes, oldestMs: 1700000000000 });
  });
});
