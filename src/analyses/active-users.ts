// DAU, WAU and MAU (seed 002) per local date: exact distinct users on the day and in the 7 and 30
// days ending with it, stickiness = DAU / MAU, and the users first seen in the lake that day.

import { z } from 'zod';
import { RANGE_END } from '../reports/query.js';
import { sqlIdent } from '../warehouse/quote.js';
import { userDays } from './activity.js';
import { col, defineAnalysis } from './analysis.js';
import { rangeParams } from './params.js';
import { localDate, ratio6, select } from './sql.js';

export const ACTIVE_USERS_BY = ['media_id', 'app_type', 'country'] as const;

export const activeUsers = defineAnalysis({
  name: 'active-users',
  title: 'Daily, weekly and monthly active users, stickiness and new users per local date',
  params: rangeParams.extend({ by: z.enum(ACTIVE_USERS_BY).optional() }),
  async run({ wh, activity, range }, { by }) {
    const group = by ? `coalesce(${sqlIdent(by)}, '(none)')` : `''`;
    // Each user-day counts for itself and the 29 days after: k is how many days before `day` the
    // user was last active, so DAU is k = 0, WAU k < 7 and MAU every user. The 7- and 30-day
    // windows of the first dates reach back 29 days before `from`.
    const sql = `WITH days AS ${userDays(
      activity.quarters,
      group,
      `quarter >= timezone($tz, ($from::DATE - 29)::TIMESTAMP) AND quarter < ${RANGE_END}`,
    )},
firsts AS (
  SELECT user_id, ${localDate('min(quarter)')} AS first FROM ${activity.quarters} WHERE user_id IS NOT NULL GROUP BY user_id
),
last_seen AS (
  SELECT d + k AS day, g, user_id, min(k) AS k
  FROM (SELECT *, unnest(range(greatest(0, $from::DATE - d), least(29, $to::DATE - d) + 1))::INTEGER AS k FROM days)
  GROUP BY ALL
),
counts AS (
  SELECT day, g, count(*) FILTER (WHERE k = 0) AS dau, count(*) FILTER (WHERE k < 7) AS wau,
    count(*) AS mau, count(*) FILTER (WHERE k = 0 AND first = day) AS new_users
  FROM last_seen JOIN firsts USING (user_id) GROUP BY ALL
),
calendar AS (SELECT unnest(generate_series($from::DATE, $to::DATE, INTERVAL 1 DAY))::DATE AS day),
groups AS (${by ? 'SELECT DISTINCT g FROM counts' : `SELECT '' AS g`})
SELECT g, strftime(day, '%Y-%m-%d') AS date, coalesce(dau, 0) AS dau, coalesce(wau, 0) AS wau,
  coalesce(mau, 0) AS mau, ${ratio6('coalesce(dau, 0)', 'coalesce(mau, 0)')} AS stickiness,
  coalesce(new_users, 0) AS new_users
FROM calendar CROSS JOIN groups LEFT JOIN counts USING (day, g)
ORDER BY g, day`;
    const rows = await select<Record<string, string | null>>(wh, sql, range);
    return {
      columns: [
        ...(by ? [col.dim(by)] : []),
        col.date(),
        ...['dau', 'wau', 'mau'].map((c) => col.count(c)),
        col.decimal('stickiness'),
        col.count('new_users'),
      ],
      rows: rows.map(({ g, ...r }) => (by ? { [by]: g ?? null, ...r } : r)),
    };
  },
});
