// Times a mapping converts: a local time without a zone (ISO-like, or in the mapping's time_format)
// read in the mapping's IANA zone. Each format becomes one regular expression with its parts as
// groups, written once and read alike by JS RegExp and DuckDB's RE2 (as validate.ts does), so the
// two compilers split a time identically; the zone arithmetic is ICU's in both (DuckDB's timezone(),
// Intl here), and both read an ambiguous local time (the hour repeated when clocks go back) as the
// later instant, standard time, as ICU does.

import { zoneOffsetMs } from '../../util/zoned.js';
import { daysFromCivil, daysInMonth } from '../validate.js';

/** The parts a time may have; a part the format lacks is '' (and reads as 0, or year 2000+yy). */
export const TIME_PARTS = ['y', 'yy', 'mo', 'd', 'h', 'mi', 's', 'f', 'sg', 'oh', 'om'] as const;
export type TimePart = (typeof TIME_PARTS)[number];

export interface TimeFormat {
  /** Anchored pattern whose groups are `parts`, in order. */
  pattern: string;
  parts: readonly TimePart[];
  /** The format carries its own offset (%z): no zone is needed. */
  zoned: boolean;
}

const DIRECTIVES: Record<string, { re: string; parts: TimePart[] }> = {
  Y: { re: String.raw`(\d{4})`, parts: ['y'] },
  y: { re: String.raw`(\d{2})`, parts: ['yy'] },
  m: { re: String.raw`(\d{2})`, parts: ['mo'] },
  d: { re: String.raw`(\d{2})`, parts: ['d'] },
  H: { re: String.raw`(\d{2})`, parts: ['h'] },
  M: { re: String.raw`(\d{2})`, parts: ['mi'] },
  S: { re: String.raw`(\d{2})`, parts: ['s'] },
  f: { re: String.raw`(\d{1,9})`, parts: ['f'] },
  z: { re: String.raw`(?:[Zz]|([+-])(\d{2}):?(\d{2}))`, parts: ['sg', 'oh', 'om'] },
};

/**
 * A strptime-style format as a TimeFormat, or undefined when it is not one this reads: %Y %y %m %d
 * %H %M %S %f %z and %%, each at most once, with a year, month and day; any other text is literal.
 * Numbers are zero-padded to their width, as the compact `%Y%m%d%H%M%S` needs.
 */
export function parseTimeFormat(format: string): TimeFormat | undefined {
  let pattern = '^';
  const parts: TimePart[] = [];
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      pattern += c.replace(/[\\^$.|?*+()[\]{}/-]/, (x) => `\\${x}`);
      continue;
    }
    const d = format[++i];
    if (d === '%') {
      pattern += '%';
      continue;
    }
    const directive = d === undefined ? undefined : DIRECTIVES[d];
    if (!directive || directive.parts.some((p) => parts.includes(p))) return undefined;
    pattern += directive.re;
    parts.push(...directive.parts);
  }
  const has = (p: TimePart) => parts.includes(p);
  if (!(has('y') || has('yy')) || !has('mo') || !has('d') || (has('y') && has('yy'))) return undefined;
  return { pattern: `${pattern}$`, parts, zoned: has('sg') };
}

/** An ISO-8601 date and time without a zone (or a bare date): what the contract calls ts.no_offset. */
export const LOCAL_TIME_FORMAT: TimeFormat = {
  pattern: String.raw`^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$`,
  parts: ['y', 'mo', 'd', 'h', 'mi', 's', 'f'],
  zoned: false,
};

export type Parts = Record<TimePart, string>;

/** The parts of `text` in `format`, or undefined when it does not match. */
export function timeParts(format: TimeFormat, re: RegExp, text: string): Parts | undefined {
  const m = re.exec(text);
  if (!m) return undefined;
  const p = Object.fromEntries(TIME_PARTS.map((k) => [k, ''])) as Parts;
  format.parts.forEach((k, i) => {
    p[k] = m[i + 1] ?? '';
  });
  return p;
}

const num = (s: string) => (s === '' ? 0 : Number(s));

/**
 * Milliseconds of the parts as if they were UTC (digits past the millisecond dropped), minus their
 * own offset when they have one; NaN when a part is out of range (Feb 30, 24:00, +25:00).
 */
export function partsMs(p: Parts): number {
  const y = p.y !== '' ? Number(p.y) : 2000 + Number(p.yy);
  const [mo, d, h, mi, s, oh, om] = [p.mo, p.d, p.h, p.mi, p.s, p.oh, p.om].map(num) as number[] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return Number.NaN;
  if (h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return Number.NaN;
  const milli = num(p.f.padEnd(3, '0').slice(0, 3));
  const offset = (p.sg === '-' ? -1 : 1) * (oh * 60 + om) * 60000;
  return daysFromCivil(y, mo, d) * 86400000 + h * 3600000 + mi * 60000 + s * 1000 + milli - offset;
}

/**
 * The instant of local time `localMs` (milliseconds of the wall clock read as UTC) in `zone`, or
 * undefined when the wall clock skips it (the hour lost when clocks go forward).
 */
export function localToInstant(zone: string, localMs: number): number | undefined {
  const day = 86400000;
  let found: number | undefined;
  for (const offset of [zoneOffsetMs(localMs - day, zone), zoneOffsetMs(localMs + day, zone)]) {
    const t = localMs - offset;
    if (zoneOffsetMs(t, zone) === offset && (found === undefined || t > found)) found = t;
  }
  return found;
}
