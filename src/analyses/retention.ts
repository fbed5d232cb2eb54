// Weekly retention cohorts: users by the local ISO week (Monday first) of their first event in the
// lake, and the share of each cohort active in its week 0 to week 8. Activity counts up to the end
// of `to`: a week still running then is partial, a week starting after it is empty (null).

import { RANGE_END } from '../reports/query.js';
import { userDays } from './activity.js';
import { type AnalysisColumn, col, defineAnalysis } from './analysis.js';
import { rangeParams } from './params.js';
import { ratio6, select } from './sql.js';

export const RETENTION_WEEKS = 8;

const weeks = Array.from({ length: RETENTION_WEEKS + 1 }, (_, k) => k);

export const retention = defineAnalysis({
  name: 'retention',
  title: 'Weekly cohorts by first-seen week and the share of each active in the weeks after',
  params: rangeParams,
  async run({ wh, activity, range }) {
    // Cohorts: every week that overlaps [from, to]; activity: every event up to the end of `to`.
    const shares = weeks.map(
      (k) =>
        `CASE WHEN cohort + ${7 * k} > $to::DATE THEN NULL ELSE ${ratio6(`count(DISTINCT user_id) FILTER (WHERE week = ${k})`, 'count(DISTINCT user_id)')} END AS week_${k}`,
    );
    const sql = `WITH days AS ${userDays(activity.quarters, "''", `quarter < ${RANGE_END}`)},
cohorts AS (SELECT user_id, date_trunc('week', min(d))::DATE AS cohort FROM days GROUP BY user_id),
active AS (
  SELECT user_id, cohort, date_diff('day', cohort, date_trunc('week', d)::DATE) // 7 AS week
  FROM days JOIN cohorts USING (user_id)
)
SELECT strftime(cohort, '%Y-%m-%d') AS cohort_week, count(DISTINCT user_id) AS users, ${shares.join(',\n  ')}
FROM active
WHERE cohort BETWEEN date_trunc('week', $from::DATE)::DATE AND $to::DATE
GROUP BY cohort ORDER BY cohort`;
    const columns: AnalysisColumn[] = [
      col.date('cohort_week'),
      col.count('users'),
      ...weeks.map((k) => col.decimal(`week_${k}`)),
    ];
    return { columns, rows: await select(wh, sql, range) };
  },
});
