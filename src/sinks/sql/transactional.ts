// The sink for databases with transactions (MySQL/MariaDB, PostgreSQL): a delta is bulk-loaded into
// a temporary table and added with one upsert, and the table's watermark moves in the same
// transaction. The watermark row is locked and must still be where the delta starts, so a retry
// after any failure, or a second syncer, can never add a delta twice.

import { AdpipeError } from '../../errors.js';
import {
  ddlStatements,
  modelFingerprint,
  modelTableOf,
  type SinkConnection,
  staleTables,
  type Watermark,
} from './connection.js';
import type { MergeDialect, ServerInfo } from './dialect.js';
import { columnsOf, type SinkTable } from './table.js';

/** What a driver provides: statements, positional rows and a bulk load of a CSV file. */
export interface SqlSession {
  readonly id: string;
  /** Product and version, for the staging and merge statements that depend on them. */
  readonly server?: ServerInfo;
  exec(sql: string): Promise<void>;
  rows(sql: string): Promise<unknown[][]>;
  loadCsv(table: string, columns: readonly string[], file: string): Promise<void>;
  close(): Promise<void>;
}

const STAGING = 'adpipe_delta';

export function transactionalSink(d: MergeDialect, session: SqlSession, watermarks: string): SinkConnection {
  const wm = d.ident(watermarks);
  const models = modelTableOf(watermarks);
  const where = (t: SinkTable) => `table_name = ${d.literal(t.name)}`;
  return {
    dialect: d,
    sessionId: session.id,
    async init(tables) {
      await session.exec(d.createWatermark(watermarks));
      await session.exec(d.createModelTable(models));
      const recorded = new Map(
        (await session.rows(`SELECT table_name, fingerprint FROM ${d.ident(models)}`)).map(
          ([t, f]) => [String(t), String(f)] as const,
        ),
      );
      const synced = new Set(
        (await session.rows(`SELECT table_name FROM ${wm} WHERE batch_id > 0`)).map(([t]) => String(t)),
      );
      const stale = staleTables(d, tables, recorded, synced);
      const current = tables.filter((t) => !stale.includes(t));
      for (const sql of ddlStatements(d, watermarks, current)) await session.exec(sql);
      for (const t of current) {
        await session.exec(d.seedWatermark(watermarks, t.name));
        if (!recorded.has(t.name))
          await session.exec(
            `INSERT INTO ${d.ident(models)} (table_name, fingerprint) VALUES (${d.literal(t.name)}, ${d.literal(modelFingerprint(d, t))})`,
          );
      }
      return stale;
    },
    async rebuild(tables) {
      await session.exec(d.createWatermark(watermarks));
      await session.exec(d.createModelTable(models));
      for (const t of tables) {
        for (const sql of d.dropTable(t)) await session.exec(sql);
        await session.exec(`DELETE FROM ${wm} WHERE ${where(t)}`);
        await session.exec(`DELETE FROM ${d.ident(models)} WHERE ${where(t)}`);
      }
    },
    async watermark(t): Promise<Watermark> {
      const [row] = await session.rows(
        `SELECT ${d.asText('batch_id')}, ${d.asText('updated_at')} FROM ${wm} WHERE ${where(t)}`,
      );
      return row ? { batchId: Number(row[0]), updatedAt: String(row[1]) } : { batchId: 0 };
    },
    async apply(t, delta, hooks) {
      await session.exec('BEGIN');
      try {
        const [row] = await session.rows(
          `SELECT ${d.asText('batch_id')} FROM ${wm} WHERE ${where(t)} FOR UPDATE`,
        );
        const at = Number(row?.[0] ?? Number.NaN);
        if (at !== delta.after)
          throw new AdpipeError('ADP_ERR_SINK_FAILED', [
            t.name,
            `watermark is at batch ${at}, not ${delta.after}: another sync applied it; sync again`,
          ]);
        if (delta.rows > 0) {
          for (const sql of d.createStaging(t, STAGING, session.server)) await session.exec(sql);
          await session.loadCsv(
            STAGING,
            columnsOf(t).map((c) => c.name),
            delta.file,
          );
          for (const sql of d.mergeFromStaging(t, STAGING, session.server)) await session.exec(sql);
        }
        await session.exec(
          `UPDATE ${wm} SET batch_id = ${delta.upTo}, updated_at = CURRENT_TIMESTAMP WHERE ${where(t)}`,
        );
        await hooks?.beforeCommit?.(session.id);
        await session.exec('COMMIT');
      } catch (err) {
        await session.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    async read(t) {
      const cols = columnsOf(t).map((c) => d.asText(d.ident(c.name)));
      const rows = await session.rows(`SELECT ${cols.join(', ')} FROM ${d.ident(t.name)}`);
      return rows.map((r) => r.map(String));
    },
    close: () => session.close(),
  };
}
