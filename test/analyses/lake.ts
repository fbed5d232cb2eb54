// Small hand-made lakes for the analyses' tests: events written as NDJSON and ingested through
// the real pipeline, then analyses run in process on a read-only warehouse.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { AnalysisResult } from '../../src/analyses/analysis.js';
import { ANALYSES } from '../../src/analyses/registry.js';
import { parseConfig } from '../../src/config.js';
import { loadUnits } from '../../src/loader/loader.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';

export type TestEvent = Record<string, string | number> & { ts: string; type: string };

/** A data dir holding these events (event ids e1, e2… unless given). */
export async function lakeOf(prefix: string, events: readonly TestEvent[]): Promise<string> {
  const dataDir = makeTempDir(prefix);
  const file = path.join(dataDir, 'events.jsonl');
  writeFileSync(
    file,
    `${events.map((e, i) => JSON.stringify({ event_id: `e${i + 1}`, ...e })).join('\n')}\n`,
  );
  const wh = await Warehouse.open(dataDir);
  try {
    const summary = await loadUnits(wh, await discoverInputs([file]));
    if (summary.rejected > 0) throw new Error(`test events rejected: ${JSON.stringify(summary)}`);
  } finally {
    wh.close();
  }
  return dataDir;
}

/**
 * Runs an analysis on a data dir read-only (on the activity tables as far as they go, and the
 * lake's newer rows), then as `adpipe analyze` does (folding the new batches into the activity
 * tables first), and expects the same result both ways.
 */
export async function analyze(
  dataDir: string,
  name: string,
  params: Record<string, unknown> = {},
  config: object = {},
): Promise<AnalysisResult> {
  const analysis = ANALYSES.find((a) => a.name === name)!;
  const runOn = async (readOnly: boolean) => {
    const wh = await Warehouse.open(dataDir, { readOnly });
    try {
      return await analysis.run(wh, parseConfig(config), params);
    } finally {
      wh.close();
    }
  };
  const result = await runOn(true);
  expect(await runOn(false)).toEqual(result);
  return result;
}
