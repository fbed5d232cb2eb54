// What a mapping does to a record, decided once from the mapping and read by both compilers (sql.ts,
// js.ts), so they cannot differ on which fields are set, read from where, or dropped.

import { ALIASES, KNOWN_FIELDS } from '../contract.js';
import type { SourcePath } from './paths.js';
import type { Mapping } from './schema.js';

export interface MappedField {
  field: string;
  /** Where the value is read: the first of these that is present and not null. */
  paths: readonly SourcePath[];
  /** `values`: folded source value → contract value. */
  table?: ReadonlyMap<string, string>;
}

export interface MappingPlan {
  /** Contract fields the mapping sets (absent when their value is absent), in contract order. */
  mapped: readonly MappedField[];
  /** Source keys not carried over: the fields set, their aliases, and the sources named in `fields`. */
  dropped: ReadonlySet<string>;
  /** Without keep_unmapped only contract fields are carried over (the others would land in props). */
  keepOnlyKnown: boolean;
}

/** The aliases of a contract field. */
export const aliasesOf = (field: string) => Object.keys(ALIASES).filter((a) => ALIASES[a] === field);

export function mappingPlan(m: Mapping): MappingPlan {
  const set = new Set<string>([...m.fields.keys(), ...m.values.keys()]);
  if (m.timeZone || m.timeFormat) set.add('ts');
  if (m.idFromContent) set.add('event_id');
  const mapped = KNOWN_FIELDS.filter((f) => set.has(f)).map((field) => {
    const path = m.fields.get(field);
    return {
      field,
      paths: path ? [path] : [field, ...aliasesOf(field)].map((k) => [k]),
      table: m.values.get(field),
    };
  });
  const dropped = new Set<string>();
  for (const { field } of mapped) for (const k of [field, ...aliasesOf(field)]) dropped.add(k);
  for (const path of m.fields.values()) dropped.add(path[0] as string);
  return { mapped, dropped, keepOnlyKnown: !m.keepUnmapped };
}

export const KNOWN_SET: ReadonlySet<string> = new Set(KNOWN_FIELDS);
