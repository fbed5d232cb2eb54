// Every input format, messy spellings, bad records with their line numbers, duplicates inside a file,
// and truncated gzip files, each checked against the independent oracle in fixtures.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatMicros } from '../../src/money.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  actualReport,
  badJsonLines,
  type Canon,
  CSV_COLUMNS,
  deadLetters,
  emptyState,
  expectedReport,
  ingestInProcess,
  makeEvents,
  oracleIngest,
  oracleValidate,
  parseMeta,
  prng,
  readRecords,
  SPECS,
  spellCsv,
  spellJson,
  withWarehouse,
  writeEvents,
  writeMetadata,
} from './fixtures.js';

const META = parseMeta();

/** Each bad record's oracle code must be the code it was written for (checks the oracle itself). */
function checkOracleCodes(file: string, intended: Map<number, string>): void {
  const got = new Map<number, string>();
  for (const r of readRecords(file)) {
    const v = oracleValidate(r);
    if ('code' in v) got.set(r.line, v.code);
  }
  expect(got).toEqual(intended);
}

/** Items for one file: spelled events, duplicates with other values, bad records at known lines. */
function items(format: string, events: Canon[], seed: number) {
  const rng = prng(seed);
  const isCsv = format.startsWith('csv');
  const isParquet = format === 'parquet';
  const out: Array<Record<string, unknown> | string> = [];
  const intended = new Map<number, string>();
  const firstLine = isCsv ? 2 : 1;
  const spell = (e: Canon) =>
    isParquet
      ? {
          ...Object.fromEntries(
            CSV_COLUMNS.filter(
              (c) => !['ts', 'revenue', 'cost'].includes(c) && e[c as keyof Canon] !== undefined,
            ).map((c) => [c, String(e[c as keyof Canon])]),
          ),
          ts: new Date(e.tsMs).toISOString(),
          ...(e.revenue !== undefined ? { revenue: formatMicros(e.revenue) } : {}),
          ...(e.cost !== undefined ? { cost: formatMicros(e.cost) } : {}),
        }
      : isCsv
        ? spellCsv(rng, e)
        : spellJson(rng, e);
  let bad: Array<[string | Record<string, unknown>, string]>;
  const T0 = '2024-03-10T12:00:00Z';
  const id = (n: number) => events[n]!.event_id; // bad records that reuse a good event's id
  if (isCsv) {
    const row = (o: Record<string, string>) => ({
      ...Object.fromEntries(CSV_COLUMNS.map((c) => [c, ''])),
      ...o,
    });
    bad = [
      [row({ event_id: id(1), type: 'bogus', ts: T0 }), 'type.invalid'],
      [row({ event_id: '', type: 'click', ts: T0 }), 'event_id.missing'],
      [row({ event_id: id(2), type: 'impression', ts: '2024-03-10 12:00' }), 'ts.no_offset'],
      [row({ event_id: id(3), type: 'impression', ts: T0, revenue: '-1' }), 'money.negative'],
      [row({ event_id: id(4), type: 'impression', ts: T0, revenue: '1.1234567' }), 'money.scale'],
      [row({ event_id: id(5), type: 'impression', ts: T0, device: 'tablet' }), 'device.invalid'],
    ];
  } else if (isParquet) {
    bad = [
      [{ type: 'click', ts: T0 }, 'event_id.missing'],
      [{ event_id: id(1), type: 'impression', ts: T0, revenue: '-1.000000' }, 'money.negative'],
      [{ event_id: id(2), type: 'bogus', ts: T0 }, 'type.invalid'],
    ];
  } else {
    bad = badJsonLines(id);
    // A JSON array cannot hold a line that is not JSON; it can hold other values.
    if (format.startsWith('json.') || format === 'json')
      bad = [[JSON.stringify(42), 'record.not_object'], ...bad.slice(1)];
  }
  // Bad records sit before the good event whose id they reuse, so they must not claim it.
  const badAt = new Map<number, number>(bad.map((_, i) => [Math.min(events.length - 1, 3 + i * 4), i]));
  events.forEach((e, i) => {
    const b = badAt.get(i);
    if (b !== undefined) {
      intended.set(firstLine + out.length, bad[b]![1]);
      out.push(bad[b]![0]);
    }
    out.push(spell(e));
    // A later copy with other values is a duplicate: the first one wins.
    if (i % 9 === 4) out.push(spell({ ...events[i - 2]!, revenue: 7n, type: 'impression' }));
  });
  return { out, intended };
}

const FORMATS = ['jsonl', 'jsonl.gz', 'ndjson', 'ndjson.gz', 'json', 'json.gz', 'csv', 'csv.gz', 'parquet'];

describe('input formats', () => {
  const root = makeTempDir('pipe-formats');
  const metadata = writeMetadata(path.join(root, 'metadata'));

  it.each(FORMATS)('reads .%s: every event, bad record and report as the oracle says', async (format) => {
    const rng = prng(11);
    const events = makeEvents(rng, 70, 'f');
    // A money value with 15 significant digits, the most the contract allows: its sums are exact
    // only if no reader goes through a double.
    events[10]!.revenue = 987_654_321_234_561n;
    events[10]!.type = 'impression';
    const { out, intended } = items(format, events, 99);
    const dir = path.join(root, format.replace('.', '-'));
    const file = path.join(dir, 'in', `events.${format}`);
    mkdirSync(path.dirname(file), { recursive: true });
    if (format.startsWith('jsonl') || format.startsWith('ndjson')) {
      // A blank line in the middle keeps the numbering of the lines after it.
      const lines = out.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
      lines.splice(20, 0, '');
      const shifted = new Map([...intended].map(([l, c]) => [l > 20 ? l + 1 : l, c]));
      intended.clear();
      for (const [l, c] of shifted) intended.set(l, c);
      await writeEvents(file, lines);
    } else await writeEvents(file, out);
    checkOracleCodes(file, intended);

    const oracle = oracleIngest(emptyState(), [file], META);
    const dataDir = path.join(dir, 'data');
    const summary = await ingestInProcess(dataDir, [file], { metadata });
    expect(summary.setAside).toEqual([]);
    expect({
      accepted: summary.accepted,
      duplicates: summary.duplicates,
      rejected: summary.rejected,
    }).toEqual({
      accepted: oracle.accepted,
      duplicates: oracle.duplicates,
      rejected: oracle.rejected,
    });
    expect(oracle.rejected).toBe(intended.size);
    expect(oracle.duplicates).toBeGreaterThan(3);

    const letters = deadLetters(dataDir);
    expect(letters.map((d) => `${d.source}:${d.line}:${d.code}`).sort()).toEqual(
      oracle.rejects.map((r) => `${r.source}:${r.line}:${r.code}`).sort(),
    );
    for (const d of letters) {
      expect(d.message).toMatch(/^\S+: .+/);
      expect(d.field).toBeTruthy();
      expect(typeof d.text).toBe('string');
    }

    await withWarehouse(
      dataDir,
      async (wh) => {
        for (const s of SPECS) {
          expect(await actualReport(wh, s.name, { tz: 'UTC' }), `${s.name} from .${format}`).toEqual(
            expectedReport(s, oracle.events, META, { tz: 'UTC' }),
          );
        }
      },
      true,
    );
  });

  it('reads CSV headers with the aliases event_type and timestamp', async () => {
    const rng = prng(5);
    const events = makeEvents(rng, 30, 'alias');
    const dir = path.join(root, 'csv-alias');
    const file = path.join(dir, 'aliases.csv');
    mkdirSync(dir, { recursive: true });
    const header = CSV_COLUMNS.map((c) => (c === 'type' ? 'event_type' : c === 'ts' ? 'timestamp' : c));
    await writeEvents(
      file,
      events.map((e) => spellCsv(rng, e)),
      { csvHeader: header },
    );
    expect(readFileSync(file, 'utf8').split('\n')[0]).toContain('event_type');
    const oracle = oracleIngest(emptyState(), [file], META);
    expect(oracle.accepted).toBe(30);
    const summary = await ingestInProcess(path.join(dir, 'data'), [file], { metadata });
    expect(summary.accepted).toBe(30);
    expect(summary.rejected).toBe(0);
    await withWarehouse(
      path.join(dir, 'data'),
      async (wh) => {
        for (const s of SPECS)
          expect(await actualReport(wh, s.name, { tz: 'UTC' })).toEqual(
            expectedReport(s, oracle.events, META, { tz: 'UTC' }),
          );
      },
      true,
    );
  });

  it('sets a truncated gzip file aside whole (any format) while the rest of its group proceeds', async () => {
    const dir = path.join(root, 'truncated');
    mkdirSync(dir, { recursive: true });
    const rng = prng(21);
    const a = makeEvents(rng, 40, 'a');
    const b = makeEvents(rng, 3000, 'b');
    const c = makeEvents(rng, 40, 'c');
    const files = {
      first: path.join(dir, '1-good.jsonl'),
      cutJsonl: path.join(dir, '2-cut.jsonl.gz'),
      cutCsv: path.join(dir, '3-cut.csv.gz'),
      cutJson: path.join(dir, '4-cut.json.gz'),
      last: path.join(dir, '5-good.ndjson.gz'),
    };
    await writeEvents(
      files.first,
      a.map((e) => spellJson(rng, e)),
    );
    // The cut files hold events that arrive again, complete, in the last file: those must count
    // from the last file, not as duplicates of a file that was set aside.
    const again = c.slice(0, 10);
    await writeEvents(
      files.cutJsonl,
      [...again, ...b].map((e) => spellJson(rng, e)),
    );
    await writeEvents(
      files.cutCsv,
      [...again, ...b].map((e) => spellCsv(rng, e)),
    );
    await writeEvents(
      files.cutJson,
      [...again, ...b].map((e) => spellJson(rng, e)),
    );
    await writeEvents(
      files.last,
      c.map((e) => spellJson(rng, e)),
    );
    for (const f of [files.cutJsonl, files.cutCsv, files.cutJson]) {
      const buf = readFileSync(f);
      writeFileSync(f, buf.subarray(0, Math.floor(buf.length * 0.6)));
    }
    const cut = new Set([files.cutJsonl, files.cutCsv, files.cutJson]);
    const all = Object.values(files);
    const oracle = oracleIngest(emptyState(), all, META, cut);
    expect(oracle.accepted).toBe(80);

    const dataDir = path.join(dir, 'data');
    const summary = await ingestInProcess(dataDir, [dir], { metadata });
    expect(summary.setAside.map((s) => s.key).sort()).toEqual([...cut].sort());
    for (const s of summary.setAside) expect(s.reason).not.toBe('');
    expect(summary.filesRead).toBe(2);
    expect(summary.accepted).toBe(80);
    expect(summary.duplicates).toBe(0);
    const letters = deadLetters(dataDir).filter((d) => d.code === 'file.unreadable');
    expect(letters.map((d) => d.source).sort()).toEqual([...cut].sort());
    for (const d of letters) {
      expect(d.line).toBeNull();
      expect(String(d.message)).toMatch(/set aside/);
    }
    await withWarehouse(
      dataDir,
      async (wh) => {
        const ledger = await wh.all<{ path: string }>('SELECT path FROM ledger ORDER BY path');
        expect(ledger.map((l) => l.path)).toEqual([files.first, files.last]);
        for (const s of SPECS)
          expect(await actualReport(wh, s.name, { tz: 'UTC' })).toEqual(
            expectedReport(s, oracle.events, META, { tz: 'UTC' }),
          );
      },
      true,
    );
  });
});
