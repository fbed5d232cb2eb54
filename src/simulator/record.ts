// A simulated event in memory (times in epoch ms, money in integer micros) and its serialisation.
// The JSON line is built by hand because it is the hot path: JSON.stringify on a plain object is
// about twice as slow, and every generated value is plain ASCII that needs no escaping.

import type { AppType, Device, EventType } from '../events/contract.js';

/**
 * What every event of one page view shares. The fields from app_type to ip (and the line's end) are
 * encoded once as JSON bytes, since most of a line is the same for a whole funnel and copying bytes
 * is cheaper than building and flattening strings per event.
 */
export interface PageView {
  orgId: string;
  mediaId: string;
  inventoryId: string;
  device: Device;
  json: string;
}

/** The ad shown: ad_id, campaign_id, demand_id and advertiser_id as a JSON fragment, built once per ad. */
export interface Creative {
  json: string;
}

export interface SimEvent {
  /** Position in the global arrival order; the event_id is derived from it. */
  index: number;
  type: EventType;
  name: string | null;
  ts: number;
  /** Enrichment fields left out: 0 none, 1 org_id, 2 media_id and org_id, 3 device. */
  omit: number;
  page: PageView;
  /** The demand partner of a response or passback; shown ads carry it in `creative`. */
  demandId: string | null;
  creative: Creative | null;
  /** Money in integer micros. */
  revenue: number;
  cost: number;
  bid_price: number;
}

export function pageView(
  ids: { orgId: string; mediaId: string; inventoryId: string; device: Device },
  f: {
    app_type: AppType;
    ad_format: string;
    country: string;
    os: string;
    browser: string | null;
    user_id: string;
    session_id: string;
    experiment: string;
    variant: string;
    ip: string;
  },
): PageView {
  const json =
    `,"app_type":"${f.app_type}","ad_format":"${f.ad_format}","country":"${f.country}","os":"${f.os}"` +
    (f.browser === null ? '' : `,"browser":"${f.browser}"`) +
    `,"user_id":"${f.user_id}","session_id":"${f.session_id}","experiment":"${f.experiment}"` +
    `,"variant":"${f.variant}","ip":"${f.ip}"}\n`;
  return { ...ids, json };
}

export function creative(ad: string, campaign: string, demand: string, advertiser: string): Creative {
  const json = `,"ad_id":"${ad}","campaign_id":"${campaign}","demand_id":"${demand}","advertiser_id":"${advertiser}"`;
  return { json };
}

/** An event as a plain JSON object: what a file line parses to. */
export type SimRecord = Record<string, string | number>;

/** Exact decimal text of an amount in micros, e.g. 45 -> "0.000045". */
export function formatMicros(micros: number | bigint): string {
  const s = String(micros).padStart(7, '0');
  return `${s.slice(0, -6)}.${s.slice(-6)}`;
}

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
// A small direct-mapped cache of "YYYY-MM-DDTHH:MM:" prefixes: a chunk's events span a few minutes.
const MINUTE_SLOTS = 64;
const cachedMinute = new Float64Array(MINUTE_SLOTS).fill(-1);
const cachedPrefix: string[] = new Array(MINUTE_SLOTS).fill('');

/** ISO-8601 UTC with milliseconds and Z. */
export function isoMs(ms: number): string {
  const minute = Math.floor(ms / 60_000);
  const slot = minute & (MINUTE_SLOTS - 1);
  if (cachedMinute[slot] !== minute) {
    cachedMinute[slot] = minute;
    cachedPrefix[slot] = new Date(minute * 60_000).toISOString().slice(0, 17);
  }
  const rest = ms - minute * 60_000;
  const sec = Math.floor(rest / 1000);
  return `${cachedPrefix[slot]}${PAD2[sec]}.${PAD3[rest - sec * 1000]}Z`;
}

export function eventId(tag: string, index: number): string {
  return tag + index.toString(36);
}

/** A growable byte buffer that JSON lines are encoded into; all generated text is ASCII. */
export class LineBuffer {
  private buf = Buffer.allocUnsafe(1 << 20);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  text(s: string): void {
    // latin1 is one byte per char and generated text is ASCII; `line` takes any other text.
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  /** Any text, UTF-8 encoded. */
  line(s: string): void {
    this.ensure(Buffer.byteLength(s));
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Hands over the bytes written so far (a copy: the buffer is reused). */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}

/**
 * Encodes one JSON line (with newline); absent fields and zero money are omitted. Keys come in three
 * runs (per-event fields, the ad, the page view's shared fields) so a line is one string write and
 * one or two byte copies.
 */
export function writeJsonLine(ev: SimEvent, tag: string, out: LineBuffer): void {
  const p = ev.page;
  out.text(
    `{"event_id":"${eventId(tag, ev.index)}","type":"${ev.type}"` +
      (ev.name === null ? '' : `,"name":"${ev.name}"`) +
      `,"ts":"${isoMs(ev.ts)}"` +
      (ev.omit === 1 || ev.omit === 2 ? '' : `,"org_id":"${p.orgId}"`) +
      (ev.omit === 2 ? '' : `,"media_id":"${p.mediaId}"`) +
      `,"inventory_id":"${p.inventoryId}"` +
      (ev.omit === 3 ? '' : `,"device":"${p.device}"`) +
      (ev.demandId === null ? '' : `,"demand_id":"${ev.demandId}"`) +
      (ev.revenue === 0 ? '' : `,"revenue":"${formatMicros(ev.revenue)}"`) +
      (ev.cost === 0 ? '' : `,"cost":"${formatMicros(ev.cost)}"`) +
      (ev.bid_price === 0 ? '' : `,"bid_price":"${formatMicros(ev.bid_price)}"`) +
      (ev.creative === null ? '' : ev.creative.json) +
      p.json,
  );
}

const scratch = new LineBuffer();

export function jsonLine(ev: SimEvent, tag: string): string {
  writeJsonLine(ev, tag, scratch);
  return scratch.take().toString('latin1');
}

/** The plain object a consumer sees; derived from the line so the two can never disagree. */
export function toRecord(ev: SimEvent, tag: string): SimRecord {
  return JSON.parse(jsonLine(ev, tag)) as SimRecord;
}
