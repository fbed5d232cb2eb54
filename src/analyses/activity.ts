// Derived tables of user activity that the analyses read instead of every event, kept in the
// warehouse and folded in incrementally, batch by batch:
// - activity_quarters: per user (NULL: events without one) and 15-minute UTC quarter, with the keys
//   active-users groups by and the A/B fields, the events, conversions and revenue. Fifteen minutes
//   divides every real-world UTC offset, so a quarter lies in one local date in any zone.
// - activity_runs: per level (a gap) and user, the runs of events no more than that gap apart: at
//   1 minute (bursts; a session of any longer gap is a union of whole bursts) and at the default
//   session gap (the sessions themselves).
// - activity_touches: the impressions and clicks of users (attribution's touchpoints), and
//   activity_conversions: their conversions, each a narrow copy of a small part of the lake.
// A lake row carries the batch that accepted it, keeps it through compaction and is removed only by
// `lake prune`, which drops these tables (forgetActivity) so they are rebuilt from what is left:
// the tables as of the watermark plus the lake's rows of later batches are exact. A writable
// connection folds those rows in first (late events merge the runs they fall between); a read-only
// one reads them beside the tables.

import { lakeRelation } from '../lake/lake.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** The gap of the bursts: sessions with a gap below it are computed from the events. */
export const BURST_GAP_US = 60_000_000;
/** The default session gap (30m), kept merged. */
export const SESSION_GAP_US = 1_800_000_000;
const LEVELS = [BURST_GAP_US, SESSION_GAP_US];

const QUARTER_US = 900_000_000;

/** Relations over the activity, each as of every committed batch. */
export interface Activity {
  /** user_id, quarter, media_id, app_type, country, experiment, variant, events, conversions, revenue; a key may repeat (sum it). */
  quarters: string;
  /** Impressions and clicks of users: user_id, ts, event_id, campaign_id. */
  touches: string;
  /** Conversions of users: user_id, ts, event_id, revenue. */
  conversions: string;
  /** Sessions (user_id, started, ended, events) for a gap of at least BURST_GAP_US, in SQL. */
  sessions(gapUs: number): string;
}

/** Bump when a table's definition changes: tables of another definition are rebuilt from the lake. */
const DEFINITION = 1;
const TABLE_NAMES = ['activity_quarters', 'activity_touches', 'activity_conversions', 'activity_runs'];

const TABLES = [
  // The batch the tables are folded up to, under the definition they were built with.
  'CREATE TABLE IF NOT EXISTS activity_watermark (batch_id BIGINT NOT NULL, definition INTEGER NOT NULL)',
  `CREATE TABLE IF NOT EXISTS activity_quarters (
    user_id VARCHAR, quarter TIMESTAMPTZ NOT NULL, media_id VARCHAR, app_type VARCHAR, country VARCHAR,
    experiment VARCHAR, variant VARCHAR, events BIGINT NOT NULL, conversions BIGINT NOT NULL, revenue DECIMAL(38,6)
  )`,
  `CREATE TABLE IF NOT EXISTS activity_touches (
    user_id VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, event_id VARCHAR NOT NULL, campaign_id VARCHAR
  )`,
  `CREATE TABLE IF NOT EXISTS activity_conversions (
    user_id VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, event_id VARCHAR NOT NULL, revenue DECIMAL(18,6)
  )`,
  `CREATE TABLE IF NOT EXISTS activity_runs (
    gap_us BIGINT NOT NULL, user_id VARCHAR NOT NULL, started TIMESTAMPTZ NOT NULL, ended TIMESTAMPTZ NOT NULL,
    events BIGINT NOT NULL
  )`,
];

/** The lake's rows of the batches after `watermark`. */
async function newRows(wh: Warehouse, watermark: number): Promise<string> {
  return `(SELECT * FROM ${await lakeRelation(wh, watermark)} WHERE batch_id > ${watermark})`;
}

/** Events per user and quarter, as activity_quarters holds them. */
function quartersOf(events: string): string {
  return `(SELECT nullif(user_id, '') AS user_id,
    timezone('UTC', make_timestamp(epoch_us(ts) - ((epoch_us(ts) % ${QUARTER_US}) + ${QUARTER_US}) % ${QUARTER_US})) AS quarter,
    media_id, app_type, country, experiment, variant, count(*) AS events,
    count(*) FILTER (WHERE type = 'conversion') AS conversions, sum(revenue)::DECIMAL(38,6) AS revenue
  FROM ${events} GROUP BY ALL)`;
}

/** The users' impressions and clicks, as activity_touches holds them. */
const touchesOf = (events: string) =>
  `(SELECT user_id, ts, event_id, campaign_id FROM ${events}
    WHERE type IN ('impression', 'click') AND coalesce(user_id, '') <> '')`;

/** The users' conversions, as activity_conversions holds them. */
const conversionsOf = (events: string) =>
  `(SELECT user_id, ts, event_id, revenue FROM ${events} WHERE type = 'conversion' AND coalesce(user_id, '') <> '')`;

/** A user's events as intervals of one instant. */
export function pointsOf(events: string): string {
  return `(SELECT user_id, ts AS started, ts AS ended, 1::BIGINT AS events FROM ${events} WHERE coalesce(user_id, '') <> '')`;
}

/**
 * A user's events as intervals per UTC minute: events of one minute are less than BURST_GAP_US
 * apart, so they are in one run of any level, and merging these intervals is exact.
 */
function minutesOf(events: string): string {
  return `(SELECT user_id, min(ts) AS started, max(ts) AS ended, count(*) AS events
  FROM ${events} WHERE coalesce(user_id, '') <> ''
  GROUP BY user_id, epoch_us(ts) - ((epoch_us(ts) % ${BURST_GAP_US}) + ${BURST_GAP_US}) % ${BURST_GAP_US})`;
}

/**
 * One row per union of a user's intervals (user_id, started, ended, events) where each starts no
 * more than `gap` (SQL, microseconds) after every earlier one ended; the rest start a new union.
 */
export function mergeIntervals(intervals: string, gap: string): string {
  return `(SELECT user_id, min(started) AS started, max(ended) AS ended, sum(events)::BIGINT AS events FROM (
  SELECT *, sum(starts) OVER (PARTITION BY user_id ORDER BY started, ended ROWS UNBOUNDED PRECEDING) AS k
  FROM (
    SELECT *, CASE WHEN epoch_us(started) - max(epoch_us(ended)) OVER (
        PARTITION BY user_id ORDER BY started, ended ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ) <= ${gap} THEN 0 ELSE 1 END AS starts
    FROM ${intervals}
  )
) GROUP BY user_id, k)`;
}

/**
 * The distinct (user_id, g, d) of users active on local date d (zone $tz) in the quarters that pass
 * `where`, g being `group` over the quarter's keys. The zone converts each distinct quarter once.
 */
export function userDays(quarters: string, group: string, where: string): string {
  return `(SELECT DISTINCT user_id, g, d FROM (
    SELECT user_id, ${group} AS g, quarter FROM ${quarters} WHERE user_id IS NOT NULL AND ${where}
  ) JOIN (SELECT quarter, timezone($tz, quarter)::DATE AS d FROM (SELECT DISTINCT quarter FROM ${quarters})) USING (quarter))`;
}

/** The batch the tables hold up to; undefined when there are none, or of another definition. */
async function watermarkOf(wh: Warehouse): Promise<number | undefined> {
  const tables = await wh.one<{ n: string }>(
    "SELECT count(*)::VARCHAR AS n FROM duckdb_tables() WHERE table_name = 'activity_watermark' AND NOT temporary",
  );
  if (tables?.n === '0') return undefined;
  const row = await wh.one<{ b: string | null; d: number | null }>(
    'SELECT max(batch_id)::VARCHAR AS b, max(definition) AS d FROM activity_watermark',
  );
  if (row?.d !== null && row?.d !== DEFINITION) return undefined;
  return Number(row?.b ?? 0);
}

/**
 * Drops the tables, inside the caller's transaction, so the next refresh rebuilds them from the lake:
 * after `lake prune` removed rows, which the tables' incremental folding assumes never happens.
 */
export async function forgetActivity(wh: Warehouse): Promise<void> {
  for (const table of ['activity_watermark', ...TABLE_NAMES]) await wh.run(`DROP TABLE IF EXISTS ${table}`);
}

/** Folds the batches committed after the watermark into the tables, in one transaction. */
export async function refreshActivity(wh: Warehouse): Promise<void> {
  if ((await watermarkOf(wh)) === undefined) await forgetActivity(wh);
  for (const ddl of TABLES) await wh.run(ddl);
  await wh.transaction(async () => {
    const watermark = (await watermarkOf(wh)) ?? 0;
    const latest = await wh.one<{ b: string | null }>('SELECT max(batch_id)::VARCHAR AS b FROM batches');
    const upTo = Number(latest?.b ?? 0);
    if (upTo <= watermark) return;
    const rows = await newRows(wh, watermark);
    await wh.run(`INSERT INTO activity_quarters SELECT * FROM ${quartersOf(rows)}`);
    await wh.run(`INSERT INTO activity_touches SELECT * FROM ${touchesOf(rows)}`);
    await wh.run(`INSERT INTO activity_conversions SELECT * FROM ${conversionsOf(rows)}`);
    await wh.run(`CREATE OR REPLACE TEMP TABLE activity_new AS SELECT * FROM ${minutesOf(rows)}`);
    // The new events' users' runs are merged again with the new events: a late event may join two.
    const touched = 'user_id IN (SELECT user_id FROM activity_new)';
    for (const gap of LEVELS) {
      await wh.run(
        `CREATE OR REPLACE TEMP TABLE activity_merged AS SELECT ${gap}::BIGINT AS gap_us, * FROM ${mergeIntervals(
          `(SELECT user_id, started, ended, events FROM activity_runs WHERE gap_us = ${gap} AND ${touched}
          UNION ALL SELECT * FROM activity_new)`,
          String(gap),
        )}`,
      );
      await wh.run(`DELETE FROM activity_runs WHERE gap_us = ${gap} AND ${touched}`);
      await wh.run('INSERT INTO activity_runs SELECT * FROM activity_merged');
    }
    await wh.run('DELETE FROM activity_watermark');
    await wh.run(`INSERT INTO activity_watermark VALUES (${upTo}, ${DEFINITION})`);
    await wh.run('DROP TABLE activity_new');
    await wh.run('DROP TABLE activity_merged');
  });
}

/** One refresh at a time per database in this process (concurrent ones would conflict). */
const refreshing = new Map<string, Promise<void>>();

async function isReadOnly(wh: Warehouse): Promise<boolean> {
  const row = await wh.one<{ mode: string }>("SELECT current_setting('access_mode') AS mode");
  return row?.mode === 'read_only';
}

/**
 * The activity as of every committed batch: on a writable connection the tables after a refresh,
 * on a read-only one the tables (if any) beside the lake's newer rows.
 */
export async function activityOf(wh: Warehouse): Promise<Activity> {
  if (!(await isReadOnly(wh))) {
    const previous = refreshing.get(wh.dataDir) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(() => refreshActivity(wh));
    refreshing.set(wh.dataDir, mine);
    try {
      await mine;
    } finally {
      if (refreshing.get(wh.dataDir) === mine) refreshing.delete(wh.dataDir);
    }
  }
  const watermark = await watermarkOf(wh);
  const rows = await newRows(wh, watermark ?? 0);
  const current = watermark !== undefined && !(await hasRows(wh, watermark));
  const runs = (gap: number) =>
    `(SELECT user_id, started, ended, events FROM activity_runs WHERE gap_us = ${gap})`;
  // The stored table (when there is one) and the newer rows.
  const both = (table: string, newer: string) =>
    current
      ? table
      : watermark === undefined
        ? newer
        : `(SELECT * FROM ${table} UNION ALL SELECT * FROM ${newer})`;
  return {
    quarters: both('activity_quarters', quartersOf(rows)),
    touches: both('activity_touches', touchesOf(rows)),
    conversions: both('activity_conversions', conversionsOf(rows)),
    sessions(gapUs) {
      if (current && LEVELS.includes(gapUs)) return runs(gapUs);
      const level = Math.max(...LEVELS.filter((l) => l <= gapUs));
      const stored = watermark === undefined ? '' : `SELECT * FROM ${runs(level)} UNION ALL `;
      return mergeIntervals(`(${stored}SELECT * FROM ${minutesOf(rows)})`, String(gapUs));
    },
  };
}

/** Whether the lake has rows of batches after the watermark. */
async function hasRows(wh: Warehouse, watermark: number): Promise<boolean> {
  const row = await wh.one<{ n: string }>(
    `SELECT count(*)::VARCHAR AS n FROM lake_files WHERE batch_id > ${watermark}`,
  );
  return row?.n !== '0';
}
