// SIGKILL a real `adpipe ingest` (node bin/adpipe.js, built by `npx tsc -p .`) at several moments,
// run it again, and compare with one clean run into a fresh data dir: same reports, ledger, dead
// letters and dedup ids; `adpipe verify` finds no difference (and does find a tampered rollup row);
// `adpipe compact` removes orphans, merges partition files and changes no report.
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, parseMicros } from '../../src/money.js';
import { verifyWarehouse } from '../../src/pipeline/verify-warehouse.js';
import { runReport } from '../../src/reports/query.js';
import { generate, type Manifest } from '../../src/simulator/index.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  actualReport,
  type CliResult,
  deadLetters,
  ingestInProcess,
  runCli,
  SPECS,
  startCli,
  withWarehouse,
} from './fixtures.js';

const root = makeTempDir('pipe-crash');
const sim = path.join(root, 'sim');
const events = path.join(sim, 'events');
const metadata = path.join(sim, 'metadata');
const reference = path.join(root, 'reference');
const crashed = path.join(root, 'crashed');
const ZONES = ['UTC', 'America/New_York'];
let manifest: Manifest;

type Log = { msg?: string; stage?: string; batchId?: number };

/** Starts `adpipe ingest --batch-files 1` and SIGKILLs it at the first log line `when` accepts. */
function ingestAndKill(
  when: (log: Log, committed: number) => boolean,
): Promise<CliResult & { killedAt?: Log; pid?: number }> {
  const run = startCli(crashed, ['ingest', events, '-m', metadata, '--batch-files', '1'], {
    ADPIPE_LOG_LEVEL: 'debug',
  });
  let killedAt: Log | undefined;
  let committed = 0;
  let pending = '';
  run.child.stderr!.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (killedAt || !line.startsWith('{')) continue;
      const log = JSON.parse(line) as Log;
      if (log.msg === 'batch committed') committed++;
      if (when(log, committed)) {
        killedAt = log;
        run.child.kill('SIGKILL');
      }
    }
  });
  return run.done.then((r) => ({ ...r, killedAt, pid: run.child.pid }));
}

interface Disk {
  batches: number;
  committedFiles: Set<string>;
  orphans: string[];
}

/** What a data dir holds after a crash: committed batches, manifest files, orphan lake files. */
async function inspect(dir: string): Promise<Disk> {
  return withWarehouse(dir, async (wh) => {
    const b = await wh.one<{ n: string }>('SELECT count(*)::VARCHAR AS n FROM batches');
    const files = new Set((await wh.all<{ path: string }>('SELECT path FROM lake_files')).map((r) => r.path));
    const onDisk = existsSync(wh.lakeDir)
      ? (readdirSync(wh.lakeDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet'))
      : [];
    return { batches: Number(b!.n), committedFiles: files, orphans: onDisk.filter((f) => !files.has(f)) };
  });
}

async function snapshot(dir: string) {
  return withWarehouse(dir, async (wh) => {
    const reports: Record<string, string[]> = {};
    for (const tz of ZONES)
      for (const s of SPECS) reports[`${s.name} ${tz}`] = await actualReport(wh, s.name, { tz });
    const ledger = await wh.all(
      `SELECT path, hash, size::VARCHAR AS size, records::VARCHAR AS records, accepted::VARCHAR AS accepted,
         duplicates::VARCHAR AS duplicates, rejected::VARCHAR AS rejected FROM ledger ORDER BY path`,
    );
    const ids = await wh.one(
      'SELECT count(*)::VARCHAR AS n, count(DISTINCT event_id)::VARCHAR AS d FROM seen_ids',
    );
    const letters = deadLetters(dir)
      .map((d) => `${d.source}:${d.line}:${d.code}`)
      .sort();
    return { reports, ledger, ids, letters };
  });
}

beforeAll(async () => {
  manifest = await generate({
    out: sim,
    events: 12_000,
    files: 8,
    hours: 40,
    dirty: 0.05,
    seed: 42,
    format: 'jsonl.gz',
    start: '2024-03-09T00:00:00Z',
  });
  await ingestInProcess(reference, [events], { metadata, batchFiles: 10 });
}, 120_000);

describe('crash safety of adpipe ingest', () => {
  const kills: Array<{ killedAt?: Log; after: Disk }> = [];

  it('SIGKILLed after the first commit, during a later group and while validating, then resumed, equals one clean run', async () => {
    // 1: right after the first group committed.
    const first = await ingestAndKill((log) => log.msg === 'batch committed');
    expect(first.signal).toBe('SIGKILL');
    kills.push({ killedAt: first.killedAt, after: await inspect(crashed) });
    expect(kills[0]!.after.batches).toBeGreaterThanOrEqual(1);
    // The dead process's lock stays behind: stale, to be taken over by the next run.
    expect(readFileSync(path.join(crashed, 'adpipe.lock'), 'utf8').split(' ')[0]).toBe(String(first.pid));

    // 2: during a later group, once its lake files are written (before or while it commits).
    const second = await ingestAndKill((log, committed) => log.stage === 'lake' && committed >= 2);
    expect(second.signal).toBe('SIGKILL');
    const after2 = await inspect(crashed);
    kills.push({ killedAt: second.killedAt, after: after2 });
    expect(after2.batches).toBeGreaterThan(kills[0]!.after.batches);
    // The killed group's files are either committed or orphans that nothing reads.
    const lakeBatch = second.killedAt!.batchId!;
    const committed = [...after2.committedFiles].some((f) => path.basename(f).startsWith(`b${lakeBatch}_`));
    expect(after2.orphans.length > 0 || committed).toBe(true);
    for (const o of after2.orphans) expect(path.basename(o)).toMatch(new RegExp(`^b${lakeBatch}_`));

    // 3: while a group is being validated, before it wrote anything.
    const third = await ingestAndKill((log, committed) => log.stage === 'validate' && committed >= 1);
    expect(third.signal).toBe('SIGKILL');
    kills.push({ killedAt: third.killedAt, after: await inspect(crashed) });
    expect(kills[2]!.after.batches).toBeLessThan(8);

    // Resume: the stale lock of the dead process is taken over, committed files are skipped.
    const resumed = await runCli(crashed, ['ingest', events, '-m', metadata, '--batch-files', '1']);
    expect(resumed.stderr.trim().split('\n')).toEqual([expect.stringContaining('taking over a stale lock')]);
    expect(resumed.code).toBe(0);
    const skipped = Number(/skipped (\d+)/.exec(resumed.stdout)![1]);
    const read = Number(/files read (\d+)/.exec(resumed.stdout)![1]);
    expect(skipped).toBe(kills[2]!.after.batches);
    expect(skipped + read).toBe(8);
    expect(existsSync(path.join(crashed, 'adpipe.lock'))).toBe(false);

    const after = await inspect(crashed);
    expect(after.orphans).toEqual([]);
    const [got, want] = [await snapshot(crashed), await snapshot(reference)];
    expect(got.ledger).toEqual(want.ledger);
    expect(got.ids).toEqual(want.ids);
    expect(got.letters).toEqual(want.letters);
    expect(got.letters.length).toBeGreaterThan(100);
    for (const k of Object.keys(want.reports)) expect(got.reports[k], k).toEqual(want.reports[k]);
  });

  it('the reports also equal the simulator manifest exact totals', async () => {
    await withWarehouse(crashed, async (wh) => {
      const total = async (report: string) =>
        (await runReport(wh, { report, grain: 'total', by: [] })).rows[0] as Record<string, string | number>;
      const ad = await total('ad');
      const req = await total('ad_request');
      const demand = await total('demand');
      const media = await total('media');
      const campaign = await total('campaign');
      const t = manifest.by_type;
      expect(Number(ad.impressions)).toBe(t.impression.count);
      expect(Number(ad.clicks)).toBe(t.click.count);
      expect(Number(ad.conversions)).toBe(t.conversion.count);
      // Every request is either the publisher's ad request or a call to a partner.
      expect(Number(req.requests) + Number(demand.requests)).toBe(t.request.count);
      expect(Number(req.requests)).toBeLessThan(Number(demand.requests));
      expect(Number(req.responses)).toBe(t.response.count);
      expect(Number(req.passbacks)).toBe(t.passback.count);
      // Ad money is that of impressions and clicks; a conversion's is its order value.
      const sum = (k: 'revenue' | 'cost') =>
        formatMicros((['impression', 'click'] as const).reduce((a, ty) => a + parseMicros(t[ty][k]), 0n));
      expect(ad.revenue).toBe(sum('revenue'));
      expect(ad.cost).toBe(sum('cost'));
      expect(campaign.conversion_value).toBe(formatMicros(parseMicros(t.conversion.revenue)));
      expect(media.gross_revenue).toBe(sum('revenue'));
      expect(parseMicros(String(media.media_revenue)) + parseMicros(String(media.agency_revenue))).toBe(
        parseMicros(sum('revenue')),
      );
    });
  });

  it('adpipe verify finds no difference, and does find a tampered rollup row', async () => {
    const ok = await runCli(crashed, ['verify']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('verify: no differences');
    expect(ok.stdout).not.toContain('DIFF');

    const tamper = (delta: string) =>
      withWarehouse(crashed, (wh) =>
        wh.run(
          `UPDATE rollup_media SET gross_revenue = gross_revenue + ${delta}
           WHERE rowid = (SELECT min(rowid) FROM rollup_media WHERE gross_revenue > 0)`,
        ),
      );
    await tamper('0.000001');
    const bad = await runCli(crashed, ['verify']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^DIFF report media: /m);
    expect(bad.stdout).toContain('verify: DIFFERENCES FOUND');
    expect(bad.stdout).toMatch(/^ok {3}report ad: /m);
    await tamper('-0.000001');
    expect((await withWarehouse(crashed, (wh) => verifyWarehouse(wh))).ok).toBe(true);
  });

  it('adpipe compact removes orphan lake files, merges each partition and changes no report', async () => {
    const before = await snapshot(crashed);
    const disk = await inspect(crashed);
    const partitions = new Set([...disk.committedFiles].map((f) => path.dirname(f)));
    expect(disk.committedFiles.size).toBeGreaterThan(partitions.size); // --batch-files 1 left several per hour
    // An orphan like a killed run leaves: a copy of a real file that no batch committed.
    const some = [...disk.committedFiles][0]!;
    const orphan = path.join(path.dirname(some), 'b9999_00000000-0000-0000-0000-000000000000.parquet');
    copyFileSync(path.join(crashed, 'lake', some), path.join(crashed, 'lake', orphan));
    expect((await inspect(crashed)).orphans).toEqual([orphan]);

    const perPartition = new Map<string, number>();
    for (const f of disk.committedFiles)
      perPartition.set(path.dirname(f), (perPartition.get(path.dirname(f)) ?? 0) + 1);
    const merged = [...perPartition.values()].filter((n) => n > 1);
    const r = await runCli(crashed, ['compact']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `compacted ${merged.length} partitions: ${merged.reduce((a, n) => a + n, 0)} files → ${merged.length}`,
    );
    const after = await inspect(crashed);
    expect(after.orphans).toEqual([]);
    expect(after.committedFiles.size).toBe(partitions.size);
    expect(new Set([...after.committedFiles].map((f) => path.dirname(f)))).toEqual(partitions);
    expect(await snapshot(crashed)).toEqual(before);
    expect((await withWarehouse(crashed, (wh) => verifyWarehouse(wh))).ok).toBe(true);
  });
});
