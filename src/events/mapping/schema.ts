// A mapping file (docs/events.md, "Mapping your data"): how one source's records become contract
// records. YAML, validated strictly; every key is optional and an error names its path.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AdpipeError } from '../../errors.js';
import { ianaZone } from '../../util/zone.js';
import { CANONICAL_FIELDS } from '../contract.js';
import { parseSourcePath, type SourcePath } from './paths.js';
import { parseTimeFormat, type TimeFormat } from './time.js';

const contractField = z
  .string()
  .refine((f) => CANONICAL_FIELDS.includes(f), { message: 'not a contract field' });

const sourcePath = z.string().refine((p) => parseSourcePath(p) !== undefined, {
  message: 'not a source path (names joined by dots, [n] into arrays: ads[0].aid)',
});

export const mappingSchema = z
  .object({
    time_zone: ianaZone.optional(),
    time_format: z
      .string()
      .refine((f) => parseTimeFormat(f) !== undefined, {
        message: 'a format of %Y %y %m %d %H %M %S %f %z %% and literal text, with %Y or %y, %m and %d',
      })
      .optional(),
    fields: z.record(contractField, sourcePath).default({}),
    values: z.record(contractField, z.record(z.string(), z.string())).default({}),
    id_from_content: z.boolean().default(false),
    keep_unmapped: z.boolean().default(true),
  })
  .strict()
  .refine((m) => !m.time_format || m.time_zone || parseTimeFormat(m.time_format)?.zoned, {
    message: 'a time_format without %z needs time_zone (the zone its times are in)',
    path: ['time_format'],
  });

export type MappingFile = z.infer<typeof mappingSchema>;

/** A validated mapping with its paths and time format parsed, what the two compilers read. */
export interface Mapping {
  timeZone?: string;
  timeFormat?: TimeFormat;
  /** Contract field → where in the source record its value is. */
  fields: ReadonlyMap<string, SourcePath>;
  /** Contract field → { source value folded to lower case → contract value }. */
  values: ReadonlyMap<string, ReadonlyMap<string, string>>;
  idFromContent: boolean;
  keepUnmapped: boolean;
}

/** ASCII letters to lower case, nothing else: the folding `values` compares with, alike in SQL. */
export function foldAscii(s: string): string {
  return s.replace(/[A-Z]+/g, (c) => c.toLowerCase());
}

/** A mapping from its parsed YAML (or any object); `origin` names it in errors. */
export function parseMapping(raw: unknown, origin = 'mapping'): Mapping {
  const result = mappingSchema.safeParse(raw ?? {});
  if (!result.success) {
    // A record key's own refusal sits inside zod's "Invalid key in record".
    const why = (i: { message: string; issues?: Array<{ message: string }> }) =>
      i.issues?.[0]?.message ?? i.message;
    const msg = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${why(i)}`).join('; ');
    throw new AdpipeError('ADP_ERR_SOURCE_MAPPING_INVALID', [origin, msg]);
  }
  const m = result.data;
  return {
    timeZone: m.time_zone,
    timeFormat: m.time_format === undefined ? undefined : parseTimeFormat(m.time_format),
    fields: new Map(Object.entries(m.fields).map(([f, p]) => [f, parseSourcePath(p)!])),
    values: new Map(
      Object.entries(m.values).map(([f, table]) => [
        f,
        new Map(Object.entries(table).map(([from, to]) => [foldAscii(from), to])),
      ]),
    ),
    idFromContent: m.id_from_content,
    keepUnmapped: m.keep_unmapped,
  };
}

/** Reads and validates a mapping file. */
export function loadMapping(file: string): Mapping {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AdpipeError('ADP_ERR_SOURCE_MAPPING_INVALID', [file, (err as Error).message.split('\n')[0]!]);
  }
  return parseMapping(raw, file);
}
