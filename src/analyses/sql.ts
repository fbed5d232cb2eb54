// SQL pieces every analysis shares: exact ratios (money in micros: src/money.ts), the lake's
// events that have a user, and running a query with only the parameters it mentions.

import { moneySql } from '../money.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/**
 * num / den rounded half up to 6 decimals, exactly (integer arithmetic), as DECIMAL(38,6); NULL
 * when den is 0. For non-negative integer expressions.
 */
export function ratio6(num: string, den: string): string {
  const n = `(${num})::HUGEINT`;
  const d = `(${den})::HUGEINT`;
  return `CASE WHEN ${d} = 0 THEN NULL ELSE ${moneySql(`(${n} * 2000000 + ${d}) // (2 * ${d})`)} END`;
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
