// A simulated event in memory (times in epoch ms, money in integer micros) and its serialisation.
// The JSON line is built by hand because it is the hot path: an `Encoder` assembles each line in one
// reused byte buffer from fragments encoded once (keys, ids, the ad, the page view) and digits written
// one byte at a time, so a line costs a handful of memmoves and no strings or objects. Every generated
// value is plain ASCII that needs no escaping.

import { EVENT_TYPES, type EventType } from '../events/contract.js';
import { EXPERIMENT, type Inventory } from './catalogue.js';
import type { World } from './funnel.js';

/** Event types as small integers (positions in EVENT_TYPES), so the hot path compares numbers. */
export const TYPE = Object.fromEntries(EVENT_TYPES.map((t, i) => [t, i])) as Readonly<
  Record<EventType, number>
>;

/**
 * What every event of one visit shares, as plain values: the encoder renders its JSON fragment once
 * and copies those bytes into each of the visit's lines.
 */
export interface PageView {
  inv: Inventory;
  country: string;
  os: string;
  /** Set on web inventory only. */
  browser: string | null;
  /** The user's index: user_id is `u<user>`, session_id `u<user>.<session in base 36>`. */
  user: number;
  session: number;
  variant: string;
  /** IPv4 address as an unsigned 32-bit number. */
  ip: number;
}

/** The ad shown: ad_id, campaign_id, demand_id and advertiser_id as a JSON fragment, built once per ad. */
export interface Creative {
  /** Position in `World.creativeList`. */
  index: number;
  json: string;
}

export interface SimEvent {
  /** Position in the global arrival order; the event_id is derived from it. */
  index: number;
  /** Position in EVENT_TYPES (see TYPE). */
  type: number;
  name: string | null;
  ts: number;
  /** Enrichment fields left out: 0 none, 1 org_id, 2 media_id and org_id, 3 device. */
  omit: number;
  page: PageView;
  /** The demand partner of a response or passback (index in the catalogue), or -1; shown ads carry it in `creative`. */
  demand: number;
  creative: Creative | null;
  /** Money in integer micros. */
  revenue: number;
  cost: number;
  bid_price: number;
}

export function creative(
  index: number,
  ad: string,
  campaign: string,
  demand: string,
  advertiser: string,
): Creative {
  const json = `,"ad_id":"${ad}","campaign_id":"${campaign}","demand_id":"${demand}","advertiser_id":"${advertiser}"`;
  return { index, json };
}

/** An event as a plain JSON object: what a file line parses to. */
export type SimRecord = Record<string, string | number>;

/** ISO-8601 UTC with milliseconds and Z. */
export function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** ASCII codes of the digits of base 36. */
const DIGIT = Uint8Array.from('0123456789abcdefghijklmnopqrstuvwxyz', (c) => c.charCodeAt(0));
/** Room kept free before each line; a generated line is well under this. */
const LINE_MAX = 2048;
/** Fragments, the cached minute prefixes and the current page view live in the first bytes of the buffer. */
const DICT_BYTES = 1 << 18;
const MINUTE_SLOTS = 64;
const MINUTE_PREFIX = 17; // "YYYY-MM-DDTHH:MM:"
const PAGE_BYTES = 1024;
const PAGE_AT = DICT_BYTES - PAGE_BYTES;
const MINUTES_AT = PAGE_AT - MINUTE_SLOTS * MINUTE_PREFIX;
/** Room for `","type":"<type>","ts":"` and a minute prefix, per type and minute slot. */
const TYPE_MINUTE = 48;
const TYPE_MINUTES_AT = MINUTES_AT - EVENT_TYPES.length * MINUTE_SLOTS * TYPE_MINUTE;

/**
 * Encodes JSON lines into one growable byte buffer. Every fragment sits in the same buffer as the
 * output, so copying one into a line is a single `copyWithin` (a memmove) and nothing is allocated
 * per event. `output()` is a view of the lines written since the last `reset()`.
 */
export class Encoder {
  private buf: Buffer;
  private pos = DICT_BYTES;
  private dictEnd = 0;
  private readonly fragStart: number[] = [];
  private readonly fragEnd: number[] = [];
  /** Fragments of small fixed vocabularies, keyed by the value itself (no strings built per use). */
  private readonly countries = new Map<string, number>();
  private readonly oses = new Map<string, number>();
  private readonly browsers = new Map<string, number>();
  private readonly variants = new Map<string, number>();
  private readonly names: Array<Map<string, number>> = EVENT_TYPES.map(() => new Map());
  private readonly userKey: number;
  private readonly sessionKey: number;
  private readonly lineEnd: number;
  private readonly head: number;
  /** By inventory index * 4 + omit: `Z","org_id":…,"device":"…"`, closing the ts. */
  private readonly ids: number[] = [];
  /** By inventory index: `,"app_type":…,"ad_format":…,"country":"`. */
  private readonly unit: number[] = [];
  private readonly demands: number[];
  private readonly creatives: number[];
  private readonly revenueKey: number;
  private readonly costKey: number;
  private readonly bidKey: number;
  private readonly minutes = new Float64Array(MINUTE_SLOTS).fill(Number.NaN);
  /** By type * MINUTE_SLOTS + slot: the minute whose type key and prefix the slot holds, and its length. */
  private readonly typeMinutes = new Float64Array(EVENT_TYPES.length * MINUTE_SLOTS).fill(Number.NaN);
  private readonly typeMinuteLength = new Int32Array(EVENT_TYPES.length * MINUTE_SLOTS);
  private page: PageView | null = null;
  private pageEnd = PAGE_AT;

  constructor(world: World, bytes = 8 << 20) {
    this.buf = Buffer.allocUnsafe(DICT_BYTES + bytes + LINE_MAX);
    const cat = world.catalogue;
    this.head = this.frag(`{"event_id":"${world.tag}`);
    for (const inv of cat.inventory) {
      const org = `,"org_id":"${inv.orgId}"`;
      const media = `,"media_id":"${inv.mediaId}"`;
      const unit = `,"inventory_id":"${inv.id}"`;
      const device = `,"device":"${inv.device}"`;
      this.ids[inv.index * 4] = this.frag(`Z"${org}${media}${unit}${device}`);
      this.ids[inv.index * 4 + 1] = this.frag(`Z"${media}${unit}${device}`);
      this.ids[inv.index * 4 + 2] = this.frag(`Z"${unit}${device}`);
      this.ids[inv.index * 4 + 3] = this.frag(`Z"${org}${media}${unit}`);
      this.unit[inv.index] = this.frag(
        `,"app_type":"${inv.appType}","ad_format":"${inv.format}","country":"`,
      );
    }
    this.demands = cat.demand.map((d) => this.frag(`,"demand_id":"${d.id}"`));
    this.creatives = world.creativeList.map((c) => this.frag(c.json));
    this.revenueKey = this.frag(',"revenue":"');
    this.costKey = this.frag(',"cost":"');
    this.bidKey = this.frag(',"bid_price":"');
    this.userKey = this.frag('","user_id":"u');
    this.sessionKey = this.frag('","session_id":"u');
    this.lineEnd = this.frag('"}\n');
  }

  /** Stores a fragment (ASCII) in the dictionary and returns its id. */
  private frag(s: string): number {
    if (this.dictEnd + s.length > TYPE_MINUTES_AT) throw new Error('encoder dictionary is full');
    this.fragStart.push(this.dictEnd);
    this.dictEnd += this.buf.write(s, this.dictEnd, 'latin1');
    this.fragEnd.push(this.dictEnd);
    return this.fragStart.length - 1;
  }

  /** The fragment of `value` in a vocabulary, encoded on first use. */
  private lookup(vocabulary: Map<string, number>, value: string, render: (v: string) => string): number {
    let id = vocabulary.get(value);
    if (id === undefined) {
      id = this.frag(render(value));
      vocabulary.set(value, id);
    }
    return id;
  }

  private copy(id: number): void {
    const start = this.fragStart[id]!;
    const end = this.fragEnd[id]!;
    this.buf.copyWithin(this.pos, start, end);
    this.pos += end - start;
  }

  private digits(n: number, radix: number): void {
    if (n > 0x7fffffff) {
      // Beyond int32 (event indices of huge runs): the slower float path.
      const high = Math.floor(n / radix);
      this.digits(high, radix);
      this.buf[this.pos++] = DIGIT[n - high * radix]!;
      return;
    }
    let len = 1;
    for (let x = n; x >= radix; x = (x / radix) | 0) len++;
    const buf = this.buf;
    let p = this.pos + len;
    this.pos = p;
    do {
      const q = (n / radix) | 0;
      buf[--p] = DIGIT[n - q * radix]!;
      n = q;
    } while (n > 0);
  }

  /** Exact decimal of integer micros, then the closing quote: 45 -> 0.000045". */
  private micros(m: number): void {
    const whole = Math.floor(m / 1_000_000);
    let frac = m - whole * 1_000_000;
    this.digits(whole, 10);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = 46;
    for (let k = 6; k >= 1; k--) {
      const q = (frac / 10) | 0;
      buf[p + k] = 48 + frac - q * 10;
      frac = q;
    }
    buf[p + 7] = 34;
    this.pos = p + 8;
  }

  /** `YYYY-MM-DDTHH:MM:SS.mmm`; the minute prefix comes from a small direct-mapped cache. */
  private time(ms: number): void {
    const minute = Math.floor(ms / 60_000);
    const slot = minute & (MINUTE_SLOTS - 1);
    const at = MINUTES_AT + slot * MINUTE_PREFIX;
    if (this.minutes[slot] !== minute) {
      this.minutes[slot] = minute;
      this.buf.write(new Date(minute * 60_000).toISOString(), at, MINUTE_PREFIX, 'latin1');
    }
    this.buf.copyWithin(this.pos, at, at + MINUTE_PREFIX);
    this.pos += MINUTE_PREFIX;
    this.seconds(ms - minute * 60_000);
  }

  /** `","type":"<type>","ts":"YYYY-MM-DDTHH:MM:SS.mmm`: the type key and minute prefix are one cached copy. */
  private typeTime(type: number, ms: number): void {
    const minute = Math.floor(ms / 60_000);
    const key = type * MINUTE_SLOTS + (minute & (MINUTE_SLOTS - 1));
    const at = TYPE_MINUTES_AT + key * TYPE_MINUTE;
    if (this.typeMinutes[key] !== minute) {
      this.typeMinutes[key] = minute;
      const text = `","type":"${EVENT_TYPES[type]}","ts":"${new Date(minute * 60_000).toISOString().slice(0, MINUTE_PREFIX)}`;
      this.typeMinuteLength[key] = this.buf.write(text, at, TYPE_MINUTE, 'latin1');
    }
    const len = this.typeMinuteLength[key]!;
    this.buf.copyWithin(this.pos, at, at + len);
    this.pos += len;
    this.seconds(ms - minute * 60_000);
  }

  /** `SS.mmm` of the milliseconds into a minute. */
  private seconds(rest: number): void {
    const buf = this.buf;
    let p = this.pos;
    const sec = (rest / 1000) | 0;
    const milli = rest - sec * 1000;
    const tens = (sec / 10) | 0;
    const hundreds = (milli / 100) | 0;
    const cents = milli - hundreds * 100;
    const ten = (cents / 10) | 0;
    buf[p++] = 48 + tens;
    buf[p++] = 48 + sec - tens * 10;
    buf[p++] = 46;
    buf[p++] = 48 + hundreds;
    buf[p++] = 48 + ten;
    buf[p++] = 48 + cents - ten * 10;
    this.pos = p;
  }

  /** Renders the page view's shared tail of a line (from app_type to the newline) into its slot. */
  private renderPage(pv: PageView): void {
    const saved = this.pos;
    this.pos = PAGE_AT;
    this.copy(this.unit[pv.inv.index]!);
    this.copy(this.lookup(this.countries, pv.country, (v) => `${v}","os":"`));
    this.copy(this.lookup(this.oses, pv.os, (v) => v));
    if (pv.browser !== null) this.copy(this.lookup(this.browsers, pv.browser, (v) => `","browser":"${v}`));
    this.copy(this.userKey);
    this.digits(pv.user, 10);
    this.copy(this.sessionKey);
    this.digits(pv.user, 10);
    this.buf[this.pos++] = 46;
    this.digits(pv.session, 36);
    this.copy(
      this.lookup(this.variants, pv.variant, (v) => `","experiment":"${EXPERIMENT}","variant":"${v}","ip":"`),
    );
    const ip = pv.ip;
    this.digits(ip >>> 24, 10);
    this.buf[this.pos++] = 46;
    this.digits((ip >>> 16) & 255, 10);
    this.buf[this.pos++] = 46;
    this.digits((ip >>> 8) & 255, 10);
    this.buf[this.pos++] = 46;
    this.digits(ip & 255, 10);
    this.copy(this.lineEnd);
    this.pageEnd = this.pos;
    this.page = pv;
    this.pos = saved;
  }

  /**
   * One JSON line (with newline); absent fields and zero money are omitted. Keys come in the order
   * event, ids, money, the ad, the page view's shared fields.
   */
  event(ev: SimEvent): void {
    if (this.pos + LINE_MAX > this.buf.length) this.grow(LINE_MAX);
    this.copy(this.head);
    this.digits(ev.index, 36);
    if (ev.name === null) this.typeTime(ev.type, ev.ts);
    else {
      this.copy(
        this.lookup(
          this.names[ev.type]!,
          ev.name,
          (v) => `","type":"${EVENT_TYPES[ev.type]}","name":"${v}","ts":"`,
        ),
      );
      this.time(ev.ts);
    }
    const pv = ev.page;
    this.copy(this.ids[pv.inv.index * 4 + ev.omit]!);
    if (ev.demand >= 0) this.copy(this.demands[ev.demand]!);
    if (ev.revenue !== 0) {
      this.copy(this.revenueKey);
      this.micros(ev.revenue);
    }
    if (ev.cost !== 0) {
      this.copy(this.costKey);
      this.micros(ev.cost);
    }
    if (ev.bid_price !== 0) {
      this.copy(this.bidKey);
      this.micros(ev.bid_price);
    }
    if (ev.creative !== null) this.copy(this.creatives[ev.creative.index]!);
    if (pv !== this.page) this.renderPage(pv);
    this.buf.copyWithin(this.pos, PAGE_AT, this.pageEnd);
    this.pos += this.pageEnd - PAGE_AT;
  }

  /** Any text, UTF-8 encoded. */
  text(s: string): void {
    const n = Buffer.byteLength(s);
    if (this.pos + n > this.buf.length) this.grow(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  private grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + LINE_MAX));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Bytes written since the last reset. */
  get size(): number {
    return this.pos - DICT_BYTES;
  }

  /** A view of the bytes written since the last reset: valid until the next write. */
  output(): Buffer {
    return this.buf.subarray(DICT_BYTES, this.pos);
  }

  reset(): void {
    this.pos = DICT_BYTES;
  }
}

const scratch = new WeakMap<World, Encoder>();

export function jsonLine(ev: SimEvent, world: World): string {
  let enc = scratch.get(world);
  if (!enc) {
    enc = new Encoder(world, 1 << 16);
    scratch.set(world, enc);
  }
  enc.reset();
  enc.event(ev);
  return enc.output().toString('latin1');
}

/** The plain object a consumer sees; derived from the line so the two can never disagree. */
export function toRecord(ev: SimEvent, world: World): SimRecord {
  return JSON.parse(jsonLine(ev, world)) as SimRecord;
}
