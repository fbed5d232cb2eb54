// Sessions (seed 001): a user's session ends when the next event comes more than --gap after the
// previous one (a gap of exactly --gap continues it, as the seed's `> 1800`). A session is dated by
// its first event's local date. The activity tables keep the sessions of the default gap and the
// bursts (runs of events at most a minute apart) that sessions of any longer gap are unions of; a
// gap below a minute needs the events themselves.

import { BURST_GAP_US, mergeIntervals, pointsOf } from './activity.js';
import { col, defineAnalysis } from './analysis.js';
import { duration, rangeParams } from './params.js';
import { localDate, ratio6, select } from './sql.js';

export const DEFAULT_GAP = '30m';

/**
 * One row per session (user_id, started, ended, events) of a relation of intervals of a user's
 * events (user_id, started, ended, events), such as events as points; $gap is the gap in
 * microseconds.
 */
export const sessionsOf = (intervals: string) => mergeIntervals(intervals, '$gap');

export const sessions = defineAnalysis({
  name: 'sessions',
  title: 'Sessions per local date: count, users, average length and events per session',
  params: rangeParams.extend({ gap: duration.prefault(DEFAULT_GAP) }),
  async run({ wh, lake, activity, range }, { gap }) {
    // Every event of a user, not just the range's: a session starting on `from` may continue one
    // that began before it, and one starting on `to` may run past it.
    const all = gap >= BURST_GAP_US ? activity.sessions(gap) : sessionsOf(pointsOf(lake));
    const sql = `WITH s AS (
  SELECT ${localDate('started')} AS day, user_id, events, epoch_us(ended) - epoch_us(started) AS us
  FROM ${all}
),
per_day AS (
  SELECT day, count(*) AS sessions, count(DISTINCT user_id) AS users, sum(us) AS us, sum(events) AS events
  FROM s WHERE day BETWEEN $from::DATE AND $to::DATE GROUP BY day
)
SELECT strftime(day, '%Y-%m-%d') AS date, coalesce(sessions, 0) AS sessions, coalesce(users, 0) AS users,
  ${ratio6('us', 'sessions * 1000000')} AS avg_session_seconds, ${ratio6('events', 'sessions')} AS events_per_session
FROM (SELECT unnest(generate_series($from::DATE, $to::DATE, INTERVAL 1 DAY))::DATE AS day) LEFT JOIN per_day USING (day)
ORDER BY day`;
    return {
      columns: [
        col.date(),
        col.count('sessions'),
        col.count('users'),
        col.decimal('avg_session_seconds'),
        col.decimal('events_per_session'),
      ],
      rows: await select(wh, sql, { ...range, gap }),
      meta: { gap_seconds: gap / 1e6 },
    };
  },
});
