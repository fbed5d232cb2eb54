// One behaviour every source must show, run by the real runtime and loader on a real warehouse:
// exactly once across SIGKILL at random points (a real adpipe process), poison units and poison
// records dead-lettered with their position and reason, every acknowledgement after the commit that
// holds the batch, and a restart that resumes where the last run stopped.

import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { BatchOutcome, Source, SourceBatch } from '../../src/sources/source.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';

export interface SourceUnderTest {
  /**
   * Puts a unit of NDJSON bytes where the source finds it (a file; a sealed spool segment; a feed
   * page; messages on a stream); returns the source its dead letters name (a unit's key; a stream's
   * first message published for it, which a small unit is whole).
   */
  offer(dataDir: string, inputDir: string, name: string, data: string | Buffer): string | Promise<string>;
  /** The source, in this process. */
  create(dataDir: string, inputDir: string): Promise<Source>;
  /** The adpipe command line that runs it (after --data-dir); a finite one ends by itself. */
  command(inputDir: string): string[];
  finite: boolean;
  /** For a continuous source: everything offered is loaded and acknowledged. */
  idle(dataDir: string): boolean;
  /**
   * How the source dead-letters a unit it cannot read; default: the loader sets the file aside
   * (`file.unreadable`). A feed decrypts record by record, so it rejects the one undecodable record.
   */
  unreadable?: { code: string; message: RegExp };
}

const CLI = path.resolve('test/collector/cli.ts');
const TYPES = ['request', 'response', 'impression', 'click'] as const;

/** NDJSON of `n` valid events with ids `<prefix>-<i>`. */
export function events(prefix: string, n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    lines.push(
      JSON.stringify({
        event_id: `${prefix}-${i}`,
        type: TYPES[i % TYPES.length],
        ts: '2025-05-05T05:05:05Z',
        media_id: 'm1',
        revenue: '0.000100',
      }),
    );
  return `${lines.join('\n')}\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(done: () => boolean, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out');
    await sleep(50);
  }
}

/** Loads everything offered so far with a fresh runtime and source, then closes both. */
async function loadAll(
  s: SourceUnderTest,
  wh: Warehouse,
  dataDir: string,
  inputDir: string,
  wrap: (src: Source) => Source = (x) => x,
): Promise<void> {
  const runtime = await Runtime.open(wh);
  const source = wrap(await s.create(dataDir, inputDir));
  try {
    if (s.finite) await runtime.run(source);
    else {
      await runtime.start(source);
      await waitFor(() => s.idle(dataDir));
    }
  } finally {
    await runtime.close();
  }
}

async function lakeIds(wh: Warehouse): Promise<{ events: number; distinct: number }> {
  const row = await wh.one<{ events: string; distinct: string }>(
    `SELECT count(*)::VARCHAR AS events, count(DISTINCT event_id)::VARCHAR AS distinct FROM ${await lakeRelation(wh)}`,
  );
  return { events: Number(row!.events), distinct: Number(row!.distinct) };
}

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

export function sourceConformance(s: SourceUnderTest): void {
  it('loads every event exactly once across SIGKILL at random points and restarts', async () => {
    const dataDir = makeTempDir('src-kill');
    const inputDir = makeTempDir('src-kill-in');
    const units = 8;
    const perUnit = 20_000;
    for (let u = 0; u < units; u++) await s.offer(dataDir, inputDir, `u${u}`, events(`k${u}`, perUnit));
    const args = ['--data-dir', dataDir, ...s.command(inputDir)];
    // Killed at a random moment of each of two runs (starting, loading, committing, acking).
    for (let round = 0; round < 2; round++) {
      const child = run(args);
      await sleep(1500 + Math.random() * 3000);
      child.kill('SIGKILL');
      await exited(child);
    }
    const last = run(args);
    if (!s.finite) {
      await waitFor(() => s.idle(dataDir), 120_000);
      last.kill('SIGTERM');
    }
    await exited(last);
    expect(last.exitCode ?? 0).toBe(0);
    const wh = await Warehouse.open(dataDir);
    try {
      expect(await lakeIds(wh)).toEqual({ events: units * perUnit, distinct: units * perUnit });
      // No batch counted an event twice either (the rollups are built from the same batches).
      const batches = await wh.one<{ n: string }>('SELECT sum(accepted)::VARCHAR AS n FROM batches');
      expect(Number(batches!.n)).toBe(units * perUnit);
    } finally {
      wh.close();
    }
  }, 240_000);

  it('dead-letters a unit it cannot read and a record it cannot take, with position and reason', async () => {
    const dataDir = makeTempDir('src-poison');
    const inputDir = makeTempDir('src-poison-in');
    await s.offer(dataDir, inputDir, 'a-good', events('g', 10));
    // Not UTF-8: DuckDB cannot read the unit at all.
    const unreadableUnit = await s.offer(
      dataDir,
      inputDir,
      'b-unreadable',
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]),
    );
    const badLineUnit = await s.offer(
      dataDir,
      inputDir,
      'c-bad-line',
      `${events('p', 2)}{"event_id": "p-x", "type": "nope"}\n`,
    );
    const wh = await Warehouse.open(dataDir);
    try {
      await loadAll(s, wh, dataDir, inputDir);
      expect(await lakeIds(wh)).toEqual({ events: 12, distinct: 12 });
      const letters = readdirSync(wh.deadLetterDir)
        .filter((f) => /^b\d+\.ndjson$/.test(f))
        .flatMap((f) =>
          readFileSync(path.join(wh.deadLetterDir, f), 'utf8')
            .trim()
            .split('\n')
            .map(
              (l) => JSON.parse(l) as { source: string; line: number | null; code: string; message: string },
            ),
        );
      const expected = s.unreadable ?? { code: 'file.unreadable', message: /^file set aside: \S/ };
      const unreadable = letters.filter((l) => l.code === expected.code);
      expect(unreadable).toHaveLength(1);
      expect(unreadable[0]!.source).toBe(unreadableUnit);
      expect(unreadable[0]!.message).toMatch(expected.message);
      const record = letters.filter((l) => l.code !== expected.code);
      expect(record).toHaveLength(1);
      expect(record[0]!.source).toBe(badLineUnit);
      expect(record[0]!.line).toBe(3);
      expect(record[0]!.message).toMatch(/type/);
    } finally {
      wh.close();
    }
  }, 60_000);

  it('acknowledges a batch only once the commit holding it is visible, and resumes where it stopped', async () => {
    const dataDir = makeTempDir('src-ack');
    const inputDir = makeTempDir('src-ack-in');
    for (let u = 0; u < 3; u++) await s.offer(dataDir, inputDir, `a${u}`, events(`a${u}`, 100));
    const wh = await Warehouse.open(dataDir);
    const acks: Array<{ units: number; committed: number; batchId: number | undefined }> = [];
    // Reads the warehouse from the test's own connection at the moment of each ack.
    const watched = (src: Source): Source => {
      const ack = src.ack.bind(src);
      src.ack = async (batch: SourceBatch, outcome: BatchOutcome) => {
        const keys = batch.units.map((u) => u.key);
        const row = await wh.one<{ n: string }>(
          `SELECT count(*)::VARCHAR AS n FROM ledger JOIN batches USING (batch_id)
           WHERE path IN (${keys.map((_, i) => `$${i + 1}`).join(', ')})`,
          keys,
        );
        acks.push({ units: keys.length, committed: Number(row!.n), batchId: outcome.batchId });
        return ack(batch, outcome);
      };
      return src;
    };
    try {
      await loadAll(s, wh, dataDir, inputDir, watched);
      expect(acks.length).toBeGreaterThan(0);
      for (const a of acks) expect(a.committed).toBe(a.units);
      expect(await lakeIds(wh)).toEqual({ events: 300, distinct: 300 });
      const batches = async () =>
        Number((await wh.one<{ n: string }>('SELECT count(*)::VARCHAR AS n FROM batches'))!.n);
      const before = await batches();

      // A restart with nothing new loads nothing; new input after it is loaded, and only it.
      await loadAll(s, wh, dataDir, inputDir);
      expect(await batches()).toBe(before);
      await s.offer(dataDir, inputDir, 'd-later', events('d', 50));
      await loadAll(s, wh, dataDir, inputDir);
      expect(await batches()).toBe(before + 1);
      expect(await lakeIds(wh)).toEqual({ events: 350, distinct: 350 });
    } finally {
      wh.close();
    }
  }, 60_000);
}
