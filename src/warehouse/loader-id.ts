// A data dir's loader id: its name in sinks several loaders share (one ClickHouse table fed by
// loaders of different Kafka partitions, docs/scale-out.md), where each loader's rows and
// watermarks are kept apart under it. Made the first time a sink asks (adpipe.yaml's `loader_id`,
// else a random one) and kept in the warehouse, so it survives restarts and config edits: a loader
// that changed its id would leave its old share in the sink and add a second one.

import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AdpipeError } from '../errors.js';
import type { Warehouse } from './warehouse.js';

/** Plain text, so it needs no quoting in a CSV delta or a log line. */
export const loaderIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" or "-", at most 64');

/** The warehouse table holding the one id (schema.ts creates it). */
export const LOADER_TABLE = `CREATE TABLE IF NOT EXISTS loader_identity (
    one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
    loader_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
  )`;

async function stored(wh: Warehouse): Promise<string | undefined> {
  return (await wh.one<{ id: string }>('SELECT loader_id AS id FROM loader_identity'))?.id;
}

/**
 * This data dir's loader id: the one kept in the warehouse, else `configured` (adpipe.yaml's
 * loader_id) or a new random one, kept from now on. A configured id other than the kept one is
 * refused: the sinks hold this loader's share under the kept id.
 */
export async function loaderId(wh: Warehouse, configured?: string): Promise<string> {
  let id = await stored(wh);
  if (id === undefined) {
    // OR IGNORE: a second connection making one at the same moment keeps the first.
    await wh.run('INSERT OR IGNORE INTO loader_identity VALUES (true, $id, now())', {
      id: configured ?? `loader-${randomUUID().slice(0, 8)}`,
    });
    id = (await stored(wh))!;
  }
  if (configured !== undefined && configured !== id)
    throw new AdpipeError('ADP_ERR_CONFIG', [
      `loader_id: ${configured}: this data dir is loader ${id} (kept in its warehouse), and shared sinks hold its rows under that id; set loader_id: ${id} or remove it (docs/scale-out.md)`,
    ]);
  return id;
}
