// One page of an encrypted feed (docs/feeds.md): fetch → decrypt each token → parse each payload
// → NDJSON records for the loader, dead letters for the tokens that failed, and the cursor to
// commit with the records. The runtime's FeedSource (source.ts) wraps `fetchFeedPage`; it keeps no state itself.

import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AdpipeError } from '../../errors.js';
import type { PreRejected } from '../source.js';
import { FernetError, type FernetKey, fernetDecrypt } from './fernet.js';
import { type LiteralValue, literalToJson, NumberText, parseLiteral } from './py-literal.js';

export interface FeedOptions {
  readonly key: FernetKey;
  /** Maximum token age in seconds (Fernet TTL); absent = no expiry. */
  readonly ttl?: number;
  /** Seconds since the epoch, for tests; default the clock. */
  readonly now?: () => number;
  readonly timeoutMs?: number;
}

/** Where a token was: the page's cursor (the URL fetched) and its index on the page. */
export interface FeedPosition {
  readonly cursor: string;
  readonly index: number;
}

export type FeedDeadReason =
  | FernetError['reason']
  | 'not_a_token' // an item that is neither a token string nor {"data": token}
  | 'not_utf8'
  | 'not_literal' // neither JSON nor a Python literal
  | 'not_an_object'; // a literal, but not a dict

export interface FeedDeadLetter {
  readonly position: FeedPosition;
  readonly reason: FeedDeadReason;
  readonly detail: string;
}

export interface FeedPage {
  /** The URL this page was fetched from. */
  readonly cursor: string;
  /** One JSON object per accepted token, each with an event_id. */
  readonly lines: string[];
  readonly deadLetters: FeedDeadLetter[];
  /** The URL to fetch next: the next page, or where the next pull starts. Commit it with the records. */
  readonly nextCursor: string;
  /** Whether the feed said more pages follow now (a next link, or a since-cursor that moved). */
  readonly more: boolean;
}

/** Fetches and decodes the page at `cursor` (a URL). Throws ADP_ERR_SOURCE_FEED_FETCH when the page itself is unusable. */
export async function fetchFeedPage(cursor: string, options: FeedOptions): Promise<FeedPage> {
  const res = await fetch(cursor, {
    headers: { accept: 'application/json, application/x-ndjson' },
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  }).catch((err: Error) => {
    throw new AdpipeError('ADP_ERR_SOURCE_FEED_FETCH', [cursor, err.message], { cause: err });
  });
  if (res.status !== 200) throw new AdpipeError('ADP_ERR_SOURCE_FEED_FETCH', [cursor, `HTTP ${res.status}`]);
  const { items, next, since } = parseBody(await res.text(), res.headers, cursor);
  const page = decodeItems(items, cursor, options);
  const linked = next ?? nextLink(res.headers.get('link'));
  if (linked !== undefined) return { ...page, nextCursor: new URL(linked, cursor).href, more: true };
  if (since !== undefined) {
    const url = new URL(cursor);
    const moved = url.searchParams.get('since') !== since;
    url.searchParams.set('since', since);
    return { ...page, nextCursor: url.href, more: moved && items.length > 0 };
  }
  // No pagination: the next pull fetches the same URL again; content ids dedup what it repeats.
  return { ...page, nextCursor: cursor, more: false };
}

interface Body {
  items: unknown[];
  next?: string;
  since?: string;
}

function parseBody(text: string, headers: Headers, cursor: string): Body {
  const since = headers.get('x-feed-cursor') ?? undefined;
  const trimmed = text.trim();
  if (trimmed === '') return { items: [], since };
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      const doc: unknown = JSON.parse(trimmed);
      if (Array.isArray(doc)) return { items: doc, since };
      if (isObject(doc) && Array.isArray(doc.items)) {
        return {
          items: doc.items,
          next: typeof doc.next === 'string' ? doc.next : undefined,
          since: typeof doc.cursor === 'string' ? doc.cursor : since,
        };
      }
    } catch {
      // NDJSON of {"data": …} objects also starts with '{'.
    }
  }
  const lines = trimmed.split('\n').map((l) => l.trim());
  // A line is a token (base64url text) or a JSON object; anything else (an HTML error page) fails the page.
  const items = lines
    .filter((l) => l !== '')
    .map((l) => (l.startsWith('{') ? safeJson(l) : TOKEN_TEXT.test(l) ? l : undefined));
  if (items.some((i) => i === undefined)) {
    throw new AdpipeError('ADP_ERR_SOURCE_FEED_FETCH', [
      cursor,
      'a body that is neither a JSON array nor NDJSON of tokens',
    ]);
  }
  return { items, since };
}

const TOKEN_TEXT = /^[A-Za-z0-9_=-]+$/;

function nextLink(header: string | null): string | undefined {
  return header?.match(/<([^>]*)>\s*;\s*rel="?next"?/)?.[1];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function decodeItems(
  items: unknown[],
  cursor: string,
  options: FeedOptions,
): Pick<FeedPage, 'cursor' | 'lines' | 'deadLetters'> {
  const lines: string[] = [];
  const deadLetters: FeedDeadLetter[] = [];
  const now = options.now?.();
  items.forEach((item, index) => {
    const decoded = decodeItem(item, options, now);
    if (typeof decoded === 'string') lines.push(decoded);
    else deadLetters.push({ position: { cursor, index }, ...decoded });
  });
  return { cursor, lines, deadLetters };
}

/** One item: its record as a JSON line, or why it is a dead letter. */
function decodeItem(
  item: unknown,
  options: FeedOptions,
  now: number | undefined,
): string | { reason: FeedDeadReason; detail: string } {
  const token = typeof item === 'string' ? item : isObject(item) ? item.data : undefined;
  if (typeof token !== 'string')
    return { reason: 'not_a_token', detail: 'expected a token string or {"data": token}' };
  let plain: Buffer;
  try {
    plain = fernetDecrypt(token, options.key, { ttl: options.ttl, now });
  } catch (err) {
    if (err instanceof FernetError) return { reason: err.reason, detail: err.message };
    throw err;
  }
  let payload: string;
  try {
    payload = new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    return { reason: 'not_utf8', detail: 'the decrypted payload is not UTF-8' };
  }
  let value: LiteralValue;
  try {
    value = parseLiteral(payload);
  } catch (err) {
    return { reason: 'not_literal', detail: (err as Error).message };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof NumberText) {
    return { reason: 'not_an_object', detail: 'the payload is not a dict / JSON object' };
  }
  return literalToJson(withEventId(value));
}

/**
 * A record without `event_id` gets the sha256 of its canonical JSON (keys sorted, numbers as
 * written): the same record on two pages or in two pulls gets the same id, so the loader's dedup
 * drops the repeat exactly; two different records never share one.
 */
function withEventId(record: { [key: string]: LiteralValue }): { [key: string]: LiteralValue } {
  if (record.event_id !== undefined && record.event_id !== null) return record;
  const hash = createHash('sha256').update(literalToJson(record, true)).digest('hex');
  return { ...record, event_id: `sha256:${hash}` };
}

/**
 * Writes the page's records as NDJSON under `dir`, named by their content: a page fetched twice
 * with the same records is the same file with the same hash, which the loader's ledger skips. A
 * page of failed tokens only is an empty file: the unit that carries their dead letters.
 */
export async function writeFeedRecords(
  page: FeedPage,
  dir: string,
): Promise<{ file: string; hash: string; size: number }> {
  const body = page.lines.length === 0 ? '' : `${page.lines.join('\n')}\n`;
  const hash = createHash('sha256').update(body).digest('hex');
  const file = path.join(dir, `feed-${hash.slice(0, 32)}.ndjson`);
  await writeFile(file, body);
  return { file, hash, size: Buffer.byteLength(body) };
}

/** The page's failed tokens as records rejected by their source, at their 1-based position on the page. */
export function feedRejected(page: FeedPage): PreRejected[] {
  return page.deadLetters.map((d) => ({
    line: d.position.index + 1,
    code: `feed.${d.reason}`,
    field: 'token',
    message: `token ${d.position.index + 1} of ${d.position.cursor}: ${d.detail}`,
  }));
}
