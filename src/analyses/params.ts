// Parameters every analysis shares (a range of local dates in a zone) and the parsers of the
// others' values. The CLI and the API hand the same raw strings to an analysis's zod schema.

import { z } from 'zod';
import { isCalendarDate, isTimeZone } from '../util/zoned.js';

const date = z.string().refine(isCalendarDate, 'must be a date YYYY-MM-DD');

/** --from/--to (inclusive local dates, default: the first and last date with events) and --tz. */
export const rangeParams = z.object({
  from: date.optional(),
  to: date.optional(),
  tz: z.string().refine(isTimeZone, 'must be an IANA time zone').optional(),
});

const UNIT_US = { ms: 1_000, s: 1_000_000, m: 60_000_000, h: 3_600_000_000, d: 86_400_000_000 } as const;

/** A duration such as `90s`, `30m`, `1h`, `7d` (or `500ms`), as integer microseconds. */
export const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration like 90s, 30m, 1h or 7d')
  .transform((v) => {
    const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(v) as unknown as [string, string, keyof typeof UNIT_US];
    return Number(n) * UNIT_US[unit];
  })
  .refine((us) => us > 0 && Number.isSafeInteger(us), 'must be positive');

/** A flag: true from the CLI, 'true'/'false' (or '1'/'0', or empty for true) from a query string. */
export const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', ''])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === '');
