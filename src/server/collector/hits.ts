// Browser hits (impression pixels, clicks) in groups: the event loop only notes each hit's raw query
// string, client address, user agent and arrival time, and the rest (parsing the query, making
// event ids and timestamps, validating, writing spool lines) runs here, once per group, in a
// validator worker when there is one. Per pixel, that work cost the event loop about as much again
// as answering the request.

import querystring from 'node:querystring';
import { Refused, type ValidatedBatch, validateObjects } from '../../sources/spool/batch.js';
import { uuidv7 } from './event-id.js';
import { type PixelPolicy, PixelRules } from './pixel-policy.js';

export type HitType = 'impression' | 'click';

/** A group of hits, as it goes to a worker. */
export interface HitGroup {
  /** HIT_FIELDS values per hit, all joined by HIT_SEPARATOR. */
  rows: string;
  type: HitType;
  source: string;
  receivedAt: string;
  /** Keyless pixels: what they may record; a hit outside it is refused. None: keyed pixels, clicks. */
  policy?: PixelPolicy;
}

/**
 * Per hit: the raw query string, the client address, the user agent ('' for none) and the arrival
 * time in ms. Joined by NUL, which none of them can hold: HTTP parsers refuse it in the request
 * target and in header values, and the query's own is still percent-encoded.
 */
const HIT_FIELDS = 4;
export const HIT_SEPARATOR = '\0';

/**
 * The event a hit describes: its query parameters (contract fields), with the server filling
 * event_id (UUID v7), ts (arrival), ip and user agent when they are missing. `made` says whether
 * the server made the event_id.
 */
function hitRecord(
  query: querystring.ParsedUrlQuery,
  type: HitType,
  ip: string | undefined,
  userAgent: string | undefined,
  at: number,
): { record: Record<string, unknown>; made: boolean } {
  const record: Record<string, unknown> = { type };
  // `sig` and `key` steer the endpoint rather than describe the event.
  for (const k in query) if (k !== 'sig' && k !== 'key') record[k] = query[k];
  // A click URL records a click, whatever type its parameters name (the canonical name wins over
  // the event_type alias): a signed link is the ad server's word for one click, not for a sale.
  if (type === 'click') record.type = 'click';
  const made = record.event_id === undefined;
  if (made) record.event_id = uuidv7(at);
  record.ts ??= isoTime(at);
  record.ip ??= ip;
  record.user_agent ??= userAgent;
  return { record, made };
}

let lastMs = Number.NaN;
let lastIso = '';

/** new Date(ms).toISOString(), remembered for the last ms: the hits of a group mostly share one. */
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** A group's hits validated like a JSON array's records, each a request of its own. */
export function validateHits(group: HitGroup): ValidatedBatch {
  const values = group.rows.split(HIT_SEPARATOR);
  const n = values.length / HIT_FIELDS;
  const records: Array<Record<string, unknown> | Refused> = new Array(n);
  const made = new Uint8Array(n);
  const rules = group.policy && new PixelRules(group.policy, group.type);
  for (let i = 0, v = 0; i < n; i++, v += HIT_FIELDS) {
    const query = querystring.parse(values[v]!);
    const hit = hitRecord(
      query,
      group.type,
      values[v + 1] || undefined,
      values[v + 2] || undefined,
      Number(values[v + 3]),
    );
    const refusal = rules?.refusal(query);
    records[i] = refusal ? new Refused(hit.record, refusal) : hit.record;
    made[i] = hit.made ? 1 : 0;
  }
  return validateObjects(records, group.source, group.receivedAt, made);
}
