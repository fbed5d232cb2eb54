// What the stream sources' report tests share: traffic in the fixtures' spellings written to one
// file (events, earlier ids again with other values, records the contract refuses) with its
// metadata and the independent oracle's view of it, and the check that a data dir's reports, in
// two zones, equal the oracle's.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  actualReport,
  emptyState,
  expectedReport,
  type Meta,
  makeEvents,
  type OracleState,
  oracleIngest,
  parseMeta,
  prng,
  SPECS,
  writeMetadata,
  writeSpelled,
} from '../pipeline/fixtures.js';

export interface PublishedTraffic {
  /** The traffic as lines, in order: what a test publishes, one or several to a message. */
  lines: string[];
  metadata: string;
  rng: () => number;
  meta: Meta;
  oracle: OracleState;
}

/** `count` events with ids `<prefix>…`, the first `repeats` again with revenue 7 (the first wins), and `bad` records at their index. */
export async function publishedTraffic(
  root: string,
  o: {
    count: number;
    prefix: string;
    repeats: number;
    bad: ReadonlyArray<[number, Record<string, unknown> | string]>;
  },
): Promise<PublishedTraffic> {
  const metadata = writeMetadata(path.join(root, 'metadata'));
  const file = path.join(root, 'published.jsonl');
  const rng = prng(19);
  const produced = makeEvents(rng, o.count, o.prefix);
  const repeats = produced.slice(0, o.repeats).map((e) => ({ ...e, revenue: 7n }));
  await writeSpelled(file, rng, [...produced, ...repeats], o.bad);
  const meta = parseMeta();
  return {
    lines: readFileSync(file, 'utf8').trimEnd().split('\n'),
    metadata,
    rng,
    meta,
    oracle: oracleIngest(emptyState(), [file], meta),
  };
}

/** Every report spec, in UTC and Kathmandu, as the data dir has it equals the oracle's (each with rows). */
export async function expectOracleReports(dataDir: string, t: PublishedTraffic): Promise<void> {
  const check = await Warehouse.open(dataDir);
  try {
    for (const tz of ['UTC', 'Asia/Kathmandu'])
      for (const s of SPECS) {
        const expected = expectedReport(s, t.oracle.events, t.meta, { tz });
        expect(expected.length).toBeGreaterThan(5);
        expect(await actualReport(check, s.name, { tz }), `${s.name} ${tz}`).toEqual(expected);
      }
  } finally {
    check.close();
  }
}
