// IANA time zones, for config schemas and request parameters alike.

import { z } from 'zod';

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const ianaZone = z.string().refine(isTimeZone, { message: 'not an IANA time zone' });
