// The CLI where exit codes and processes matter: one writer per data dir (ADP_ERR_WAREHOUSE_LOCKED naming the
// holder's pid, a dead holder's lock taken over), re-runs that skip, changed files, set-aside files.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/simulator/index.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  actualReport,
  emptyState,
  expectedReport,
  makeEvents,
  oracleIngest,
  parseMeta,
  prng,
  runCli,
  SPECS,
  spec,
  spellJson,
  startCli,
  withWarehouse,
  writeEvents,
  writeMetadata,
  writeSpelled,
} from './fixtures.js';

const root = makeTempDir('pipe-lock');
const META = parseMeta();
const metadata = writeMetadata(path.join(root, 'metadata'));

const waitFor = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('run lock', () => {
  const sim = path.join(root, 'sim');
  beforeAll(async () => {
    // Enough one-file batches that the holder is still loading while three other commands start.
    await generate({ out: sim, events: 24000, files: 48, hours: 6, seed: 5, format: 'jsonl.gz' });
  }, 60_000);

  it('a second writer exits at once naming the holder; a dead holder’s lock is taken over', async () => {
    const dataDir = path.join(root, 'locked');
    const args = ['ingest', path.join(sim, 'events'), '-m', path.join(sim, 'metadata'), '--batch-files', '1'];
    const lockFile = path.join(dataDir, 'adpipe.lock');
    const holder = startCli(dataDir, args);
    await waitFor(() => existsSync(lockFile) && readFileSync(lockFile, 'utf8').trim() !== '', 20_000);
    // The holder's pid, then its start time.
    expect(readFileSync(lockFile, 'utf8').split(' ')[0]).toBe(String(holder.child.pid));

    for (const second of [args, ['verify'], ['compact']]) {
      const r = await runCli(dataDir, second);
      expect(r.code, second[0]).toBe(5);
      expect(r.stderr).toContain('ADP_ERR_WAREHOUSE_LOCKED');
      expect(r.stderr).toContain(`pid ${holder.child.pid}`);
      expect(r.ms).toBeLessThan(8000);
    }
    expect(holder.child.exitCode).toBeNull(); // the holder was not disturbed

    holder.child.kill('SIGKILL');
    const dead = await holder.done;
    expect(dead.signal).toBe('SIGKILL');
    expect(readFileSync(lockFile, 'utf8').split(' ')[0]).toBe(String(holder.child.pid)); // stale now

    const taker = await runCli(dataDir, args);
    // One warning: the takeover.
    expect(taker.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(`taking over a stale lock: pid ${holder.child.pid} is not running`),
    ]);
    expect(taker.code).toBe(0);
    expect(taker.stdout).toMatch(/files read \d+ \/ skipped \d+ \/ set aside 0/);
    expect(existsSync(lockFile)).toBe(false);

    // A lock whose pid never existed is stale too.
    writeFileSync(lockFile, '2147483646\n');
    const again = await runCli(dataDir, args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('files read 0 / skipped 48 / set aside 0');
    expect(again.stdout).toContain('events accepted 0 / duplicates 0 / rejected 0');
  });
});

describe('adpipe ingest exit codes', () => {
  it('re-running skips every file; a changed file is an error unless --reprocess', async () => {
    const dir = path.join(root, 'changed');
    const rng = prng(8);
    const a = path.join(dir, 'in', 'a.jsonl');
    const b = path.join(dir, 'in', 'b.jsonl');
    await writeSpelled(a, rng, makeEvents(rng, 50, 'a'));
    await writeSpelled(b, rng, makeEvents(rng, 50, 'b'));
    const data = path.join(dir, 'data');
    const cli = (...extra: string[]) =>
      runCli(data, ['ingest', path.join(dir, 'in'), '-m', metadata, ...extra]);
    const first = await cli();
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      'files read 2 / skipped 0 / set aside 0; events accepted 100 / duplicates 0',
    );
    const report = () => withWarehouse(data, (wh) => actualReport(wh, 'ad', { tz: 'Asia/Kolkata' }), true);
    const before = await report();

    const rerun = await cli();
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain(
      'files read 0 / skipped 2 / set aside 0; events accepted 0 / duplicates 0 / rejected 0',
    );
    expect(await report()).toEqual(before);

    // Same path, new content: one new event, one repeat of an event already counted.
    const extra = makeEvents(prng(9), 1, 'b-new')[0]!;
    extra.type = 'impression';
    extra.revenue = 1_234_567n;
    appendFileSync(
      b,
      `${JSON.stringify(spellJson(rng, extra))}\n${readFileSync(a, 'utf8').split('\n')[0]}\n`,
    );
    const changed = await cli();
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain('ADP_ERR_SOURCE_CHANGED');
    expect(changed.stderr).toContain(b);
    expect(await report()).toEqual(before);

    const reprocessed = await cli('--reprocess');
    expect(reprocessed.code).toBe(0);
    expect(reprocessed.stdout).toContain(
      'files read 1 / skipped 1 / set aside 0; events accepted 1 / duplicates 51',
    );
    const o = oracleIngest(emptyState(), [a, b], META);
    expect(await report()).toEqual(expectedReport(spec('ad'), o.events, META, { tz: 'Asia/Kolkata' }));
  });

  it('a truncated gzip exits 3, is listed, and the other files count', async () => {
    const dir = path.join(root, 'cut');
    const rng = prng(10);
    const good = path.join(dir, 'in', 'good.jsonl.gz');
    const cut = path.join(dir, 'in', 'part.jsonl.gz');
    await writeSpelled(good, rng, makeEvents(rng, 60, 'g'));
    await writeEvents(
      cut,
      makeEvents(rng, 3000, 'p').map((e) => spellJson(rng, e)),
    );
    const bytes = readFileSync(cut);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 20));
    const data = path.join(dir, 'data');
    const r = await runCli(data, ['ingest', path.join(dir, 'in'), '-m', metadata]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('files read 1 / skipped 0 / set aside 1; events accepted 60 /');
    expect(r.stdout).toContain(`  set aside: ${cut}: `);
    const o = oracleIngest(emptyState(), [good], META);
    await withWarehouse(data, async (wh) => {
      for (const s of SPECS)
        expect(await actualReport(wh, s.name, { tz: 'UTC' })).toEqual(
          expectedReport(s, o.events, META, { tz: 'UTC' }),
        );
    });
  });
});
