// ClickHouse through @clickhouse/client (HTTP), down to 18.16. No transactions, so exactly-once
// rests on the table itself: a delta is ONE insert (one block, one part, whole or nothing) of rows
// tagged with the batch it syncs up to, and the watermark is the highest tag present (or the
// watermark table, written after the insert, for deltas with no rows). A failure after the insert
// leaves the watermark moved, so the retry has nothing to do; the same delta inserted twice (two
// syncers) replaces itself in the ReplacingMergeTree, and reads use FINAL.

import { createReadStream } from 'node:fs';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { AdpipeError } from '../../errors.js';
import {
  ddlStatements,
  modelFingerprint,
  modelTableOf,
  type SinkConnection,
  type SinkDriver,
  staleTables,
  type Watermark,
} from '../sql/connection.js';
import { columnsOf, type SinkTable } from '../sql/table.js';
import { BATCH_COLUMN, clickhouse as d, summedSql } from './dialect.js';

/** max_insert_block_size's default: below it an insert is one block. */
const DEFAULT_BLOCK_ROWS = 1_048_576;

/** Rows of text columns, in order (18.16 has no JSONCompactEachRow). */
async function rows(client: ClickHouseClient, columns: readonly string[], from: string): Promise<string[][]> {
  const query = `SELECT ${columns.map((c, i) => `${d.asText(c)} AS c${i}`).join(', ')} ${from}`;
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return (await rs.json<Record<string, string>>()).map((r) => columns.map((_, i) => r[`c${i}`]!));
}

/** Waits for this database's ALTER … DELETE mutations, which run in the background. */
async function mutationsDone(client: ClickHouseClient): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const [[pending]] = (await rows(
      client,
      ['count()'],
      'FROM system.mutations WHERE database = currentDatabase() AND is_done = 0',
    )) as [string[]];
    if (pending === '0') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('ALTER TABLE … DELETE mutations did not finish within 60 s');
}

function connection(client: ClickHouseClient, watermarks: string): SinkConnection {
  const wm = d.ident(watermarks);
  const models = modelTableOf(watermarks);
  const watermark = async (t: SinkTable): Promise<Watermark> => {
    const [[data, marked, updated]] = (await rows(
      client,
      [`(SELECT max(${BATCH_COLUMN}) FROM ${d.ident(t.name)})`, 'max(batch_id)', 'max(updated_at)'],
      `FROM ${wm} WHERE table_name = ${d.literal(t.name)}`,
    )) as [string[]];
    const batchId = Math.max(Number(data), Number(marked));
    return Number(marked) === batchId && batchId > 0 ? { batchId, updatedAt: updated } : { batchId };
  };
  return {
    dialect: d,
    sessionId: '',
    async init(tables) {
      await client.command({ query: d.createWatermark(watermarks) });
      await client.command({ query: d.createModelTable(models) });
      const recorded = new Map(
        (await rows(client, ['table_name', 'fingerprint'], `FROM ${d.ident(models)} FINAL`)).map(
          ([t, f]) => [t!, f!] as const,
        ),
      );
      const synced = new Set(
        (await rows(client, ['table_name'], `FROM ${wm} WHERE batch_id > 0`)).map(([t]) => t!),
      );
      const stale = staleTables(d, tables, recorded, synced);
      const current = tables.filter((t) => !stale.includes(t));
      for (const query of ddlStatements(d, watermarks, current)) await client.command({ query });
      for (const t of current)
        if (!recorded.has(t.name))
          await client.command({
            query: `INSERT INTO ${d.ident(models)} (table_name, fingerprint, updated_at) VALUES (${d.literal(t.name)}, ${d.literal(modelFingerprint(d, t))}, now())`,
          });
      return stale;
    },
    async rebuild(tables) {
      await client.command({ query: d.createWatermark(watermarks) });
      await client.command({ query: d.createModelTable(models) });
      const names = tables.map((t) => d.literal(t.name)).join(', ');
      for (const t of tables) for (const query of d.dropTable(t)) await client.command({ query });
      // The watermark table keeps the highest batch per table: only deleting its rows lowers it.
      for (const table of [watermarks, models])
        await client.command({
          query: `ALTER TABLE ${d.ident(table)} DELETE WHERE table_name IN (${names})`,
        });
      await mutationsDone(client);
    },
    watermark,
    async apply(t, delta, hooks) {
      const at = (await watermark(t)).batchId;
      if (at !== delta.after)
        throw new AdpipeError('ADP_ERR_SINK_FAILED', [
          t.name,
          `watermark is at batch ${at}, not ${delta.after}: another sync applied it; sync again`,
        ]);
      if (delta.rows > 0) {
        const [first, ...rest] = [...columnsOf(t).map((c) => d.ident(c.name)), BATCH_COLUMN];
        await client.insert({
          table: d.ident(t.name),
          values: createReadStream(delta.file),
          format: 'CSV',
          columns: [first!, ...rest],
          clickhouse_settings: {
            max_insert_block_size: String(Math.max(DEFAULT_BLOCK_ROWS, delta.rows + 1)),
          },
        });
      }
      await hooks?.beforeCommit?.('');
      await client.command({
        query: `INSERT INTO ${wm} (table_name, batch_id, updated_at) VALUES (${d.literal(t.name)}, ${delta.upTo}, now())`,
      });
    },
    async read(t) {
      return rows(
        client,
        columnsOf(t).map((c) => d.ident(c.name)),
        `FROM (${summedSql(t)})`,
      );
    },
    close: () => client.close(),
  };
}

export const clickhouseDriver: SinkDriver = {
  dialect: d,
  tagsDeltaRows: true,
  async connect(url, watermarks) {
    const client = createClient({ url, request_timeout: 60_000 });
    const ping = await client.ping();
    if (!ping.success) {
      await client.close();
      throw ping.error;
    }
    return connection(client, watermarks);
  },
};
