// Local dates in IANA zones as instants, with Intl only (no time zone library).

/** A calendar date YYYY-MM-DD; Date.parse alone would take 2025-02-30 as March 2. */
export function isCalendarDate(v: string): boolean {
  const ms = Date.parse(`${v}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(v);
}

/** Whether the runtime's Intl knows the IANA zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** How far local time in `tz` is ahead of UTC at the instant `ms`. */
export function zoneOffsetMs(ms: number, tz: string): number {
  // One formatter per zone: building one costs far more than formatting (mappings call this per record).
  let format = formats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(tz, format);
  }
  const parts = Object.fromEntries(
    format.formatToParts(new Date(ms)).map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
  const local = new Date(0);
  local.setUTCFullYear(parts.year!, parts.month! - 1, parts.day!);
  local.setUTCHours(parts.hour!, parts.minute!, parts.second!, 0);
  return local.getTime() - Math.floor(ms / 1000) * 1000;
}

/** The instant local midnight starts `date` (YYYY-MM-DD) in `tz`; twice corrected, for days that change offset. */
export function localMidnightMs(date: string, tz: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const first = wall - zoneOffsetMs(wall, tz);
  return wall - zoneOffsetMs(first, tz);
}
