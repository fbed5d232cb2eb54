// SQL pieces every analysis shares: exact ratios and money in integer micro-units, the lake's
// events that have a user, and running a query with only the parameters it mentions.

import type { Warehouse } from '../warehouse/warehouse.js';

/** An exact DECIMAL(38,6) from an integer count of micro-units. */
export const fromMicros = (micros: string) => `((${micros})::DECIMAL(38,0) * 0.000001)::DECIMAL(38,6)`;

/** A DECIMAL money value as integer micro-units (exact: money has 6 decimals). */
export const toMicros = (money: string) => `((${money}) * 1000000)::HUGEINT`;

/**
 * num / den rounded half up to 6 decimals, exactly (integer arithmetic), as DECIMAL(38,6); NULL
 * when den is 0. For non-negative integer expressions.
 */
export function ratio6(num: string, den: string): string {
  const n = `(${num})::HUGEINT`;
  const d = `(${den})::HUGEINT`;
  return `CASE WHEN ${d} = 0 THEN NULL ELSE ${fromMicros(`(${n} * 2000000 + ${d}) // (2 * ${d})`)} END`;
}

/** A relation's events that belong to a user (events without one are left out of every analysis). */
export const userEvents = (lake: string) => `(SELECT * FROM ${lake} WHERE coalesce(user_id, '') <> '')`;

/** An event's local date in the zone $tz. */
export const localDate = (ts = 'ts') => `timezone($tz, ${ts})::DATE`;

export type SqlParams = Record<string, string | number | bigint | boolean>;

/** Runs sql binding only the parameters it mentions (DuckDB refuses unused ones). */
export async function select<T extends Record<string, unknown>>(
  wh: Warehouse,
  sql: string,
  params: SqlParams,
): Promise<T[]> {
  const used = Object.fromEntries(Object.entries(params).filter(([k]) => new RegExp(`\\$${k}\\b`).test(sql)));
  return wh.all<T>(sql, used);
}
