// Segment's HTTP Tracking API, mapped onto the event contract so Segment, RudderStack and Jitsu SDKs
// can send to adpipe. A track whose `event` maps to an ad type becomes that event; any other
// track, page or screen becomes a `custom` event named after it (feature usage). identify, group
// and alias carry no events and are accepted and ignored.

import { createHash } from 'node:crypto';
import {
  AD_EVENT_TYPES,
  type AdEventType,
  ENUM_FIELDS,
  ID_FIELDS,
  MONEY_FIELDS,
  TEXT_FIELDS,
} from '../../events/contract.js';
import { uuidv7 } from './event-id.js';

export const DEFAULT_SEGMENT_EVENTS: Readonly<Record<string, AdEventType>> = {
  'Ad Requested': 'request',
  'Ad Response': 'response',
  'Ad Filled': 'response',
  'Ad Passback': 'passback',
  'Ad Impression': 'impression',
  'Ad Viewed': 'impression',
  'Ad Clicked': 'click',
  'Ad Converted': 'conversion',
  'Order Completed': 'conversion',
};

export type SegmentCall = 'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias';
const EVENT_CALLS = new Set(['track', 'page', 'screen']);

/** Contract fields a Segment `properties` object may carry directly (event-level ones excluded). */
const PROPERTY_FIELDS = new Set<string>([
  ...ID_FIELDS,
  ...TEXT_FIELDS,
  ...MONEY_FIELDS,
  ...Object.keys(ENUM_FIELDS),
]);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export class SegmentMapper {
  private readonly types: ReadonlyMap<string, string>;

  constructor(configured: Readonly<Record<string, string>>) {
    this.types = new Map(Object.entries({ ...DEFAULT_SEGMENT_EVENTS, ...configured }));
    for (const [name, type] of this.types)
      if (!(AD_EVENT_TYPES as readonly string[]).includes(type) && type !== 'custom')
        throw new Error(`server.segment_events: ${name} maps to ${type}, not an event type`);
  }

  /**
   * A contract record for one call, or undefined for calls that carry no event. `batchContext` is the
   * top-level context of a /v1/batch body, which applies to every call in it.
   */
  map(call: SegmentCall, message: Obj, batchContext: Obj = {}): Obj | undefined {
    if (!EVENT_CALLS.has(call)) return undefined;
    const props = obj(message.properties);
    const context = { ...batchContext, ...obj(message.context) };
    const rec: Obj = {};
    const leftover: Obj = {};
    for (const [k, v] of Object.entries(props)) {
      if (PROPERTY_FIELDS.has(k)) rec[k] = v;
      else leftover[k] = v;
    }
    Object.assign(rec, contextFields(context, rec));
    const name =
      call === 'track'
        ? message.event
        : (str(message.name) ?? (call === 'page' ? 'Page Viewed' : 'Screen Viewed'));
    const mapped = typeof name === 'string' ? this.types.get(name) : undefined;
    rec.type = call === 'track' ? (mapped ?? 'custom') : 'custom';
    rec.name = rec.type === 'custom' ? name : null;
    const ts = message.timestamp ?? message.originalTimestamp;
    rec.event_id = message.messageId ?? (ts === undefined ? uuidv7() : derivedId(call, message));
    rec.ts = ts ?? new Date().toISOString();
    rec.user_id = str(message.userId) ?? message.anonymousId ?? rec.user_id;
    if (Object.keys(leftover).length > 0) rec.properties = leftover;
    return rec;
  }
}

/** Contract fields from Segment's context object, where the meaning is the same. */
function contextFields(context: Obj, already: Obj): Obj {
  const out: Obj = {};
  const device = obj(context.device);
  const os = obj(context.os);
  const location = obj(context.location);
  const set = (field: string, v: unknown) => {
    if (already[field] === undefined && v !== undefined) out[field] = v;
  };
  set('ip', str(context.ip));
  set('user_agent', str(context.userAgent));
  set('os', str(os.name));
  set('city', str(location.city));
  set('country', str(location.country) ?? localeCountry(context.locale));
  set('device', deviceOf(str(device.type)));
  set('app_type', appTypeOf(str(os.name), context.page !== undefined));
  return out;
}

function localeCountry(locale: unknown): string | undefined {
  const m = typeof locale === 'string' ? /^[a-z]{2,3}[-_]([A-Z]{2})\b/i.exec(locale) : null;
  return m ? m[1]!.toUpperCase() : undefined;
}

function deviceOf(type: string | undefined): string | undefined {
  if (!type) return undefined;
  const t = type.toLowerCase();
  if (['ios', 'android', 'phone', 'mobile', 'tablet'].includes(t)) return 'MOBILE';
  if (['desktop', 'pc', 'computer', 'laptop'].includes(t)) return 'PC';
  return undefined;
}

function appTypeOf(os: string | undefined, web: boolean): string | undefined {
  const o = os?.toLowerCase();
  if (o === 'ios' || o === 'ipados') return 'IOS';
  if (o === 'android') return 'AOS';
  return web ? 'WEB' : undefined;
}

/**
 * Segment libraries always send messageId; raw HTTP callers may not. A message with a timestamp then
 * gets a hash of itself as id, so a retried identical request deduplicates instead of counting twice
 * (one without a timestamp cannot be told from a new one and gets a fresh id).
 */
function derivedId(call: SegmentCall, message: Obj): string {
  return `seg-${createHash('sha256').update(call).update(JSON.stringify(message)).digest('hex').slice(0, 32)}`;
}
