// ClickHouse through @clickhouse/client (HTTP), down to 18.16. No transactions, so exactly-once
// rests on the table itself: a delta is ONE insert (one block, one part, whole or nothing) of rows
// tagged with the loader and the batch it syncs up to, and the loader's watermark is its highest
// tag present (or the watermark table, keyed by table and loader, written after the insert, for
// deltas with no rows). A failure after the insert leaves the watermark moved, so the retry has
// nothing to do; the same delta inserted twice (two syncers) replaces itself in the
// ReplacingMergeTree, and reads use FINAL. Several loaders (data dirs) share a table this way,
// each seeing only its own share; the views sum them all (docs/scale-out.md).

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
import { BATCH_COLUMN, clickhouse as d, LOADER_COLUMN, summedSql } from './dialect.js';

/** max_insert_block_size's default: below it an insert is one block. */
const DEFAULT_BLOCK_ROWS = 1_048_576;

/** Rows of text columns, in order (18.16 has no JSONCompactEachRow). */
async function rows(client: ClickHouseClient, columns: readonly string[], from: string): Promise<string[][]> {
  const query = `SELECT ${columns.map((c, i) => `${d.asText(c)} AS c${i}`).join(', ')} ${from}`;
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return (await rs.json<Record<string, string>>()).map((r) => columns.map((_, i) => r[`c${i}`]!));
}

/** Waits for the ALTER … DELETE mutations of these tables, which run in the background. */
async function mutationsDone(client: ClickHouseClient, tables: readonly string[]): Promise<void> {
  const names = tables.map((t) => d.literal(t)).join(', ');
  for (let i = 0; i < 600; i++) {
    const [[pending]] = (await rows(
      client,
      ['count()'],
      `FROM system.mutations WHERE database = currentDatabase() AND table IN (${names}) AND is_done = 0`,
    )) as [string[]];
    if (pending === '0') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('ALTER TABLE … DELETE mutations did not finish within 60 s');
}

/** The columns of those of these tables that exist. */
async function columnsByTable(client: ClickHouseClient, tables: readonly string[]) {
  const out = new Map<string, Set<string>>();
  const found = await rows(
    client,
    ['table', 'name'],
    `FROM system.columns WHERE database = currentDatabase() AND table IN (${tables.map((t) => d.literal(t)).join(', ')})`,
  );
  for (const [table, column] of found) {
    const columns = out.get(table!) ?? new Set<string>();
    out.set(table!, columns.add(column!));
  }
  return out;
}

function connection(client: ClickHouseClient, watermarks: string, loader: string): SinkConnection {
  const wm = d.ident(watermarks);
  const models = modelTableOf(watermarks);
  const named = (t: SinkTable) => `table_name = ${d.literal(t.name)}`;
  /** This loader's watermark rows, and its rows of a report table. */
  const mine = `loader = ${d.literal(loader)}`;
  const myRows = `${LOADER_COLUMN} = ${d.literal(loader)}`;
  const exec = (query: string) => client.command({ query });
  const watermark = async (t: SinkTable): Promise<Watermark> => {
    const [[data, marked, updated]] = (await rows(
      client,
      [
        `(SELECT max(${BATCH_COLUMN}) FROM ${d.ident(t.name)} WHERE ${myRows})`,
        'max(batch_id)',
        'max(updated_at)',
      ],
      `FROM ${wm} WHERE ${named(t)} AND ${mine}`,
    )) as [string[]];
    const batchId = Math.max(Number(data), Number(marked));
    return Number(marked) === batchId && batchId > 0 ? { batchId, updatedAt: updated } : { batchId };
  };
  /**
   * Creates the watermark and model tables. A watermark table from before loaders gets its loader
   * column in place (a new column may join the sort key on 18.16 when it has no default): its rows
   * then name no loader and only tell staleTables those tables were synced.
   */
  const prepare = async () => {
    await exec(d.createWatermark(watermarks));
    await exec(d.createModelTable(models));
    if (!(await columnsByTable(client, [watermarks])).get(watermarks)?.has('loader'))
      await exec(
        `ALTER TABLE ${wm} ADD COLUMN loader String AFTER table_name, MODIFY ORDER BY (table_name, loader)`,
      );
  };
  /**
   * Tables built by another report model, and tables from before loaders (no loader column, which
   * cannot join the sort key of filled tables with this loader's id: 18.16 forbids a default there
   * and updates of key columns), which staleTables may miss when no model was recorded.
   */
  const staleOf = async (tables: readonly SinkTable[]) => {
    const recorded = new Map(
      (await rows(client, ['table_name', 'fingerprint'], `FROM ${d.ident(models)} FINAL`)).map(
        ([t, f]) => [t!, f!] as const,
      ),
    );
    const synced = new Set(
      (await rows(client, ['table_name'], `FROM ${wm} WHERE batch_id > 0`)).map(([t]) => t!),
    );
    const columns = await columnsByTable(
      client,
      tables.map((t) => t.name),
    );
    const other = staleTables(d, tables, recorded, synced);
    const stale = tables.filter(
      (t) => other.includes(t) || columns.get(t.name)?.has(LOADER_COLUMN) === false,
    );
    return { stale, recorded };
  };
  return {
    dialect: d,
    sessionId: '',
    async init(tables) {
      await prepare();
      const { stale, recorded } = await staleOf(tables);
      const current = tables.filter((t) => !stale.includes(t));
      for (const query of ddlStatements(d, watermarks, current)) await exec(query);
      for (const t of current)
        if (!recorded.has(t.name))
          await exec(
            `INSERT INTO ${d.ident(models)} (table_name, fingerprint, updated_at) VALUES (${d.literal(t.name)}, ${d.literal(modelFingerprint(d, t))}, now())`,
          );
      return stale;
    },
    async rebuild(tables) {
      await prepare();
      const { stale } = await staleOf(tables);
      // The watermark table keeps the highest batch per table and loader: only deleting rows lowers it.
      for (const t of tables) {
        if (stale.includes(t)) {
          // Another model's sums are wrong for every loader: the table goes whole, with every
          // loader's watermark, and each other loader refills its share on its next sync.
          for (const query of d.dropTable(t)) await exec(query);
          await exec(`ALTER TABLE ${wm} DELETE WHERE ${named(t)}`);
          await exec(`ALTER TABLE ${d.ident(models)} DELETE WHERE ${named(t)}`);
        } else {
          // This loader's share only: the others' rows and watermarks stay as they are.
          for (const query of d.createTable(t)) await exec(query);
          await exec(`ALTER TABLE ${d.ident(t.name)} DELETE WHERE ${myRows}`);
          await exec(`ALTER TABLE ${wm} DELETE WHERE ${named(t)} AND ${mine}`);
        }
      }
      await mutationsDone(client, [...tables.map((t) => t.name), watermarks, models]);
    },
    watermark,
    async apply(t, delta, hooks) {
      const at = (await watermark(t)).batchId;
      if (at !== delta.after)
        throw new AdpipeError('ADP_ERR_SINK_FAILED', [
          t.name,
          `watermark of loader ${loader} is at batch ${at}, not ${delta.after}: another sync applied it; sync again`,
        ]);
      if (delta.rows > 0) {
        const [first, ...rest] = [...columnsOf(t).map((c) => d.ident(c.name)), BATCH_COLUMN, LOADER_COLUMN];
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
      await exec(
        `INSERT INTO ${wm} (table_name, loader, batch_id, updated_at) VALUES (${d.literal(t.name)}, ${d.literal(loader)}, ${delta.upTo}, now())`,
      );
    },
    async read(t) {
      return rows(
        client,
        columnsOf(t).map((c) => d.ident(c.name)),
        `FROM (${summedSql(t, loader)})`,
      );
    },
    close: () => client.close(),
  };
}

export const clickhouseDriver: SinkDriver = {
  dialect: d,
  tagsDeltaRows: true,
  async connect(url, watermarks, loader) {
    const client = createClient({ url, request_timeout: 60_000 });
    const ping = await client.ping();
    if (!ping.success) {
      await client.close();
      throw ping.error;
    }
    return connection(client, watermarks, loader);
  },
};
