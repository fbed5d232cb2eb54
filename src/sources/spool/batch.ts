// The part of accepting a batch that needs no shared state: splitting an NDJSON body, validating
// each record, dropping ids repeated within the batch, and packing the kept records' spool lines and
// the rejects' dead letters. Pure, so it runs in a worker thread (validator-pool.ts) as well as
// inline; its output is packed into a few buffers and arrays, so the trip back from a worker is
// cheap and the event loop writes the spool bytes as they come.

import { type AdEvent, ID_FIELDS, MONEY_FIELDS, TEXT_FIELDS } from '../../events/contract.js';
import { stringifyDeep } from '../../events/json-depth.js';
import { plainLineEvent, type Validation, validateEvent, validateParsedText } from '../../events/validate.js';
import { parseMicros } from '../../money.js';
import { idHash } from './recent-ids.js';

export interface BatchError {
  index: number;
  code: string;
  reason: string;
}

/** Why a record was refused: a contract rejection, or a collector policy's (pixel-policy.ts). */
export interface Refusal {
  code: string;
  field: string;
  message: string;
}

type Verdict = Validation | { ok: false; rejection: Refusal };

/** The live counters' split of the kept records (0: any other type). */
export const KIND_IMPRESSION = 1;
export const KIND_CLICK = 2;

/** A validated batch: its kept records (valid, first of their id in the batch), in input order. */
export interface ValidatedBatch {
  /** The kept records' spool lines, UTF-8, each ending in \n. */
  spool: Uint8Array;
  /** Byte offset just past each kept record's line in `spool`. */
  ends: Uint32Array;
  /**
   * The kept records' ids, joined: one string for the trip back from a worker and for RecentIds to
   * point into, not one per id (see recent-ids.ts). Id i is ids.slice(idEnds[i - 1] ?? 0, idEnds[i]).
   */
  ids: string;
  idEnds: Uint32Array;
  /** idHash of each id, computed here rather than on the event loop. */
  hashes: Int32Array;
  /**
   * 1 where the server made the id (a browser hit without event_id): new for sure, so it is neither
   * looked up nor remembered among the recent ids, which would only keep it alive in the old
   * generation. Absent: no such ids.
   */
  fresh?: Uint8Array;
  /** KIND_IMPRESSION, KIND_CLICK or 0, per kept record. */
  kinds: Uint8Array;
  revenueMicros: BigInt64Array;
  /** The live view's counts over the kept records. */
  live: { events: number; impressions: number; clicks: number; revenueMicros: bigint };
  /** Valid records dropped because an earlier record of the batch has their id. */
  repeats: number;
  errors: BatchError[];
  /** Dead-letter lines (each ending in \n) for the rejected records. */
  dead: string;
}

/** An NDJSON body over the events-per-batch limit: refused whole, before any record is kept. */
export interface TooManyEvents {
  tooMany: number;
}

/** A batch's records sorted out, before packing: the kept ones' spool lines and events. */
interface Sorted {
  lines: string[];
  events: AdEvent[];
  ids: string[];
  /** Each kept record's index in the input. */
  from: number[];
  repeats: number;
  errors: BatchError[];
  dead: string;
}

/** Where records came from. */
interface Origin {
  source: string;
  receivedAt: string;
  /**
   * Browser hits only: each record is a request of its own (its dead letter's index is 0), flagged 1
   * where the server made its id, which then cannot repeat and is neither checked nor hashed.
   */
  made?: Uint8Array;
  /** Each record's position in the request where that differs from its index (Segment batches). */
  positions?: readonly number[];
}

/**
 * Validates `n` records; `original(i)` is record i's text as received, for its dead letter, and
 * `line(i, event)` the spool line of a valid one.
 */
function sortRecords(
  n: number,
  validate: (i: number) => Verdict,
  original: (i: number) => string,
  { source, receivedAt, made, positions }: Origin,
  line: (i: number, event: AdEvent) => string,
): Sorted {
  const out: Sorted = { lines: [], events: [], ids: [], from: [], repeats: 0, errors: [], dead: '' };
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const v = validate(i);
    if (!v.ok) {
      const index = positions?.[i] ?? i;
      out.errors.push({ index, code: v.rejection.code, reason: v.rejection.message });
      out.dead += deadLetter(source, made ? 0 : index, original(i), v.rejection, receivedAt);
      continue;
    }
    const id = v.event.event_id;
    if (made?.[i] !== 1) {
      if (seen.has(id)) {
        out.repeats++;
        continue;
      }
      seen.add(id);
    }
    out.ids.push(id);
    out.from.push(i);
    out.lines.push(line(i, v.event));
    out.events.push(v.event);
  }
  return out;
}

/**
 * Packs sorted records; `spool`, when given, must be the kept lines' bytes (saves encoding them), and
 * `made` is the Origin's.
 */
function pack(sorted: Sorted, spool?: Uint8Array, made?: Uint8Array): ValidatedBatch {
  const fresh = made && Uint8Array.from(sorted.from, (i) => made[i]!);
  const { lines, events } = sorted;
  const text = spool || lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  // Its own ArrayBuffer, sized to fit: a worker hands it over without a copy.
  spool ??= new TextEncoder().encode(text);
  const n = lines.length;
  const ends = new Uint32Array(n);
  const idEnds = new Uint32Array(n);
  const hashes = new Int32Array(n);
  const kinds = new Uint8Array(n);
  const revenueMicros = new BigInt64Array(n);
  // One byte per character unless some line has a non-ASCII one.
  const ascii = spool.length === n + lines.reduce((sum, l) => sum + l.length, 0);
  const live = { events: n, impressions: 0, clicks: 0, revenueMicros: 0n };
  let end = 0;
  let idEnd = 0;
  for (let i = 0; i < n; i++) {
    end += (ascii ? lines[i]!.length : Buffer.byteLength(lines[i]!)) + 1;
    ends[i] = end;
    const ev = events[i]!;
    idEnd += ev.event_id.length;
    idEnds[i] = idEnd;
    if (!fresh?.[i]) hashes[i] = idHash(ev.event_id);
    if (ev.type === 'impression') {
      kinds[i] = KIND_IMPRESSION;
      live.impressions++;
    } else if (ev.type === 'click') {
      kinds[i] = KIND_CLICK;
      live.clicks++;
    }
    // Ad revenue only: a conversion's money is the advertiser's order value.
    if (kinds[i] !== 0 && ev.revenue !== ZERO) {
      const m = parseMicros(ev.revenue);
      revenueMicros[i] = m;
      live.revenueMicros += m;
    }
  }
  const { repeats, errors, dead } = sorted;
  const ids = sorted.ids.join('');
  const batch: ValidatedBatch = {
    spool,
    ends,
    ids,
    idEnds,
    hashes,
    kinds,
    revenueMicros,
    live,
    repeats,
    errors,
    dead,
  };
  if (fresh) batch.fresh = fresh;
  return batch;
}

const ZERO = '0.000000';

/**
 * An NDJSON body, each line parsed and validated like a line of a file. A plain line (see
 * plainLineEvent) is its own spool line: the drain's SQL validator reads it exactly as this one
 * did. When every line is plain and kept, the body's bytes are the spool's.
 */
export function validateNdjson(
  body: Uint8Array,
  maxEvents: number,
  source: string,
  receivedAt: string,
): ValidatedBatch | TooManyEvents {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  const all = text.split('\n');
  const lines = all.filter((l) => l.trim() !== '');
  if (lines.length > maxEvents) return { tooMany: lines.length };
  const raw = new Uint8Array(lines.length);
  const sorted = sortRecords(
    lines.length,
    (i) => {
      const event = plainLineEvent(lines[i]!);
      if (!event) return validateParsedText(lines[i]!);
      raw[i] = 1;
      return { ok: true, event };
    },
    (i) => lines[i]!,
    { source, receivedAt },
    (i, event) => (raw[i] ? lines[i]! : spoolLine(event)),
  );
  const whole =
    sorted.ids.length === all.length - (text.endsWith('\n') ? 1 : 0) &&
    raw.every((r) => r === 1) &&
    text.length === body.length;
  return pack(sorted, whole ? withNewline(body) : undefined);
}

/** Bytes ending in a newline, in a buffer of their own (a worker hands it over). */
function withNewline(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  const out = new Uint8Array(bytes[n - 1] === 0x0a ? n : n + 1);
  out.set(bytes);
  out[out.length - 1] = 0x0a;
  return out;
}

/**
 * A record turned down before it became an event (a Segment call of no known type, a pixel outside
 * its policy), as received.
 */
export class Refused {
  constructor(
    readonly original: unknown,
    readonly rejection: Refusal,
  ) {}
}

/**
 * Parsed records (JSON array elements, mapped Segment calls, browser hits); a Refused one is
 * rejected as it says. `madeIds`, for browser hits only (each record a request of its own), flags
 * the records whose event_id the server made; `positions` are the records' positions in the
 * request, for errors and dead letters, where they differ from their indexes.
 */
export function validateObjects(
  records: readonly unknown[],
  source: string,
  receivedAt: string,
  madeIds?: Uint8Array,
  positions?: readonly number[],
): ValidatedBatch {
  const sorted = sortRecords(
    records.length,
    (i) => {
      const r = records[i];
      return r instanceof Refused ? { ok: false, rejection: r.rejection } : validateEvent(r);
    },
    // Rejected records only: at any depth (a too deep one would overflow JSON.stringify).
    (i) => {
      const r = records[i];
      return stringifyDeep(r instanceof Refused ? r.original : r);
    },
    { source, receivedAt, made: madeIds, positions },
    (_, event) => spoolLine(event),
  );
  return pack(sorted, undefined, madeIds);
}

/** `,"field":` for every optional field, in AdEvent's order (after event_id, type, name, ts). */
const OPTIONAL_FIELDS = [...ID_FIELDS, 'device', 'app_type', ...TEXT_FIELDS] as const;
const OPTIONAL_KEYS = OPTIONAL_FIELDS.map((f) => `,"${f}":`);
const MONEY_KEYS = MONEY_FIELDS.map((f) => `,"${f}":"`);
/** What JSON.stringify would escape in a string: quotes, backslashes, controls, lone surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify of a string, without its cost for the usual string that needs no escape. */
function quote(v: string): string {
  return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`;
}

/**
 * The spool line of an event: its normalised fields with the unknown ones (props) back at the top
 * level, so the drain's SQL validator reads exactly what the JS validator accepted. Missing fields
 * and zero money are left out (the validator reads them back as null and 0): lines a third the size
 * make the spool's fsyncs that much cheaper. Built by hand in AdEvent's field order (the same text
 * as JSON.stringify of those fields, without the intermediate object).
 */
export function spoolLine(ev: AdEvent): string {
  const e = ev as unknown as Record<string, string | null>;
  let text = `{"event_id":${quote(ev.event_id)},"type":"${ev.type}"`;
  if (ev.name !== null) text += `,"name":${quote(ev.name)}`;
  text += `,"ts":"${ev.ts}"`;
  for (let i = 0; i < OPTIONAL_FIELDS.length; i++) {
    const v = e[OPTIONAL_FIELDS[i]!];
    if (v !== null && v !== undefined) text += OPTIONAL_KEYS[i]! + quote(v);
  }
  for (let i = 0; i < MONEY_FIELDS.length; i++) {
    const v = e[MONEY_FIELDS[i]!];
    if (v !== ZERO) text += `${MONEY_KEYS[i]!}${v}"`;
  }
  return ev.props ? `${text},${ev.props.slice(1)}` : `${text}}`;
}

export function deadLetter(source: string, index: number, text: string, r: Refusal, at: string): string {
  return `${JSON.stringify({ source, index, text, code: r.code, field: r.field, message: r.message, received_at: at })}\n`;
}
