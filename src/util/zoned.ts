// Local dates in IANA zones as instants, with Intl only (no time zone library).

/** A calendar date YYYY-MM-DD; Date.parse alone would take 2025-02-30 as March 2. */
export function isCalendarDate(v: string): boolean {
  const ms = Date.parse(`${v}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(v);
}

/** How far local time in `tz` is ahead of UTC at the instant `ms`. */
export function zoneOffsetMs(ms: number, tz: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  const local = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return local - Math.floor(ms / 1000) * 1000;
}

/** The instant local midnight starts `date` (YYYY-MM-DD) in `tz`; twice corrected, for days that change offset. */
export function localMidnightMs(date: string, tz: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const first = wall - zoneOffsetMs(wall, tz);
  return wall - zoneOffsetMs(first, tz);
}
