// IANA time zones in config schemas (the check itself is zod-free in zoned.ts, for the dashboard too).

import { z } from 'zod';
import { isTimeZone } from './zoned.js';

export const ianaZone = z.string().refine(isTimeZone, { message: 'not an IANA time zone' });
