// The part of accepting a batch that needs no shared state: validating each record and turning it
// into its spool line or its dead letter. Pure, so it runs in a worker thread (validator-pool.ts)
// as well as inline.

import { type AdEvent, type EventType, ID_FIELDS, MONEY_FIELDS, TEXT_FIELDS } from '../../events/contract.js';
import type { Rejection } from '../../events/reasons.js';
import { type Validation, validateEventText } from '../../events/validate.js';

export interface BatchError {
  index: number;
  code: string;
  reason: string;
}

/** A validated batch: per kept record (in input order) its id, spool line, type and revenue. */
export interface ValidatedBatch {
  ids: string[];
  lines: string[];
  types: EventType[];
  revenues: string[];
  errors: BatchError[];
  /** Dead-letter lines (each ending in \n) for the rejected records. */
  dead: string[];
}

/** Validates `n` records; `original(i)` is record i's text as received, for its dead letter. */
export function validateRecords(
  n: number,
  validate: (i: number) => Validation,
  original: (i: number) => string,
  source: string,
  receivedAt: string,
): ValidatedBatch {
  const out: ValidatedBatch = { ids: [], lines: [], types: [], revenues: [], errors: [], dead: [] };
  for (let i = 0; i < n; i++) {
    const v = validate(i);
    if (!v.ok) {
      out.errors.push({ index: i, code: v.rejection.code, reason: v.rejection.message });
      out.dead.push(deadLetter(source, i, original(i), v.rejection, receivedAt));
      continue;
    }
    out.ids.push(v.event.event_id);
    out.lines.push(spoolLine(v.event));
    out.types.push(v.event.type);
    out.revenues.push(v.event.revenue);
  }
  return out;
}

/** NDJSON lines, each parsed and validated like a line of a file. */
export function validateLines(lines: readonly string[], source: string, receivedAt: string): ValidatedBatch {
  return validateRecords(
    lines.length,
    (i) => validateEventText(lines[i]!),
    (i) => lines[i]!,
    source,
    receivedAt,
  );
}

/** `,"field":` for every optional field, in AdEvent's order (after event_id, type, name, ts). */
const OPTIONAL_FIELDS = [...ID_FIELDS, 'device', 'app_type', ...TEXT_FIELDS] as const;
const OPTIONAL_KEYS = OPTIONAL_FIELDS.map((f) => `,"${f}":`);
const MONEY_KEYS = MONEY_FIELDS.map((f) => `,"${f}":"`);

/**
 * The spool line of an event: its normalised fields with the unknown ones (props) back at the top
 * level, so the drain's SQL validator reads exactly what the JS validator accepted. Missing fields
 * and zero money are left out (the validator reads them back as null and 0): lines a third the size
 * make the spool's fsyncs that much cheaper. Built by hand in AdEvent's field order (the same text
 * as JSON.stringify of those fields, without the intermediate object).
 */
export function spoolLine(ev: AdEvent): string {
  const e = ev as unknown as Record<string, string | null>;
  let text = `{"event_id":${JSON.stringify(ev.event_id)},"type":"${ev.type}"`;
  if (ev.name !== null) text += `,"name":${JSON.stringify(ev.name)}`;
  text += `,"ts":"${ev.ts}"`;
  for (let i = 0; i < OPTIONAL_FIELDS.length; i++) {
    const v = e[OPTIONAL_FIELDS[i]!];
    if (v !== null && v !== undefined) text += OPTIONAL_KEYS[i]! + JSON.stringify(v);
  }
  for (let i = 0; i < MONEY_FIELDS.length; i++) {
    const v = e[MONEY_FIELDS[i]!];
    if (v !== '0.000000') text += `${MONEY_KEYS[i]!}${v}"`;
  }
  return ev.props ? `${text},${ev.props.slice(1)}` : `${text}}`;
}

export function deadLetter(source: string, index: number, text: string, r: Rejection, at: string): string {
  return `${JSON.stringify({ source, index, text, code: r.code, field: r.field, message: r.message, received_at: at })}\n`;
}
