// Stream-like sources resume from positions the loader writes in the batch's own transaction.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { committedPositions, loadUnits } from '../../src/loader/loader.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';
import { events } from './conformance.js';

it('writes a batch’s positions with its commit, and positions alone for a range with no events', async () => {
  const dataDir = makeTempDir('positions');
  const input = makeTempDir('positions-in');
  writeFileSync(path.join(input, 'range-0-99.jsonl'), events('r', 100));
  const wh = await Warehouse.open(dataDir);
  try {
    expect(await committedPositions(wh, 'kafka:orders')).toEqual({});
    const positions = { source: 'kafka:orders', positions: { '0': '100', '2': '7' } };
    const first = await loadUnits(wh, await discoverInputs([input]), { kind: 'kafka', positions });
    expect(first.accepted).toBe(100);
    const rows = await wh.all<{ stream: string; position: string; batch_id: string }>(
      `SELECT stream, position, batch_id::VARCHAR AS batch_id FROM source_positions ORDER BY stream`,
    );
    const batchId = String(first.batches[0]!.batchId);
    expect(rows).toEqual([
      { stream: '0', position: '100', batch_id: batchId },
      { stream: '2', position: '7', batch_id: batchId },
    ]);
    // Messages that carried no events still move the stream on, without a batch.
    await loadUnits(wh, [], { positions: { source: 'kafka:orders', positions: { '0': '130' } } });
    expect(await committedPositions(wh, 'kafka:orders')).toEqual({ '0': '130', '2': '7' });
    const batches = await wh.one<{ n: string }>('SELECT count(*)::VARCHAR AS n FROM batches');
    expect(batches!.n).toBe('1');
    expect(await committedPositions(wh, 'other')).toEqual({});
  } finally {
    wh.close();
  }
});
