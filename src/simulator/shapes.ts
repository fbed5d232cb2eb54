// Events in the shapes of the seed documents' own logs, for demos, tests and benches of mappings
// (examples/mappings/<shape>.yaml reads each back into contract events): `adpipe generate --shape`.
// A shape turns one contract record the simulator made into the record that system would have
// logged, or drops it when that log has no such event.

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AdpipeError } from '../errors.js';
import type { SimRecord } from './record.js';

type Shaped = Record<string, unknown>;
type Shape = (r: SimRecord) => Shaped | undefined;

/** The wall clock of instant `ms` in `zone`: [YYYY-MM-DD, HH:MM:SS]. */
function wallClock(ms: number, zone: string): [string, string] {
  const parts: Record<string, string> = {};
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  for (const p of format.formatToParts(ms)) parts[p.type] = p.value;
  return [`${parts.year}-${parts.month}-${parts.day}`, `${parts.hour}:${parts.minute}:${parts.second}`];
}

/** The record's instant; dirty alternative forms may spell it as `timestamp` or an epoch number. */
function msOf(r: SimRecord): number {
  const v = r.ts ?? r.timestamp;
  if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
  return Date.parse(String(v));
}
/** Money as a JSON number, as Python and Spark write it (exact for the simulator's six digits). */
const money = (v: string | number | undefined) => Number(v ?? 0);
const only =
  (types: readonly string[], shape: Shape): Shape =>
  (r) =>
    types.includes(String(r.type)) ? shape(r) : undefined;

/** Seed 000's codes for event types. */
const SEED000_TYPES: Record<string, string> = {
  request: 'xreq',
  response: 'xres',
  passback: 'xpsb',
  impression: 'imp',
  click: 'clk',
  conversion: 'conv',
};

export const SHAPES: Readonly<Record<string, Shape>> = {
  // Seed 004's Kafka generator: Python's datetime.now().isoformat() on a machine in New York, and
  // the device as its OS.
  seed004: only(['impression', 'click'], (r) => {
    const ms = msOf(r);
    const [date, time] = wallClock(ms, 'America/New_York');
    return {
      event_id: r.event_id,
      // isoformat() writes microseconds; the simulator's times have milliseconds.
      timestamp: `${date}T${time}.${String(ms % 1000).padStart(3, '0')}000`,
      user_id: r.user_id,
      campaign_id: r.campaign_id,
      ad_format: r.ad_format,
      country: r.country,
      device: r.os,
      event_type: r.type,
      revenue: money(r.revenue),
    };
  }),
  // Seed 001's Spark rows: no ids, Spark's zone-less timestamps (Berlin), device as a class.
  seed001: only(['impression', 'click', 'conversion'], (r) => {
    const [date, time] = wallClock(msOf(r), 'Europe/Berlin');
    const user = String(r.user_id ?? '');
    const n = [...user].reduce((a, c) => a + c.charCodeAt(0), 0);
    return {
      user_id: r.user_id,
      campaign_id: r.campaign_id,
      ad_id: r.ad_id,
      timestamp: `${date} ${time}`,
      event_type: r.type,
      device_type: r.device === 'PC' ? 'desktop' : n % 4 === 0 ? 'tablet' : 'mobile',
      os: r.os,
      browser: r.browser,
      country: r.country,
      city: r.city,
      age_group: ['18-24', '25-34', '35-44', '45+'][n % 4],
      gender: n % 2 ? 'F' : 'M',
      bid_price: money(r.bid_price),
      cost: money(r.cost),
      revenue: money(r.revenue),
    };
  }),
  // Seed 000's raw ad logs: Unix seconds, the media key as mid, the ad inside an array.
  seed000: only(Object.keys(SEED000_TYPES), (r) => ({
    lid: r.event_id,
    evt: SEED000_TYPES[String(r.type)],
    ts: msOf(r) / 1000,
    mid: r.media_id,
    ads:
      r.inventory_id === undefined
        ? []
        : [{ aid: r.inventory_id, _god: r.ad_id ?? null, did: r.demand_id ?? null }],
    price: money(r.revenue),
  })),
  // Seed 003's decrypted API logs (Seoul): who, which method on which URL, and when, in its format.
  seed003: only(['impression', 'click'], (r) => {
    const [date, time] = wallClock(msOf(r), 'Asia/Seoul');
    return {
      user_id: r.user_id,
      method: r.type === 'impression' ? 'GET' : 'POST',
      url: `/api/ads/${r.ad_id ?? r.inventory_id}`,
      inDate: `${date}${time}`.replace(/\D/g, ''),
    };
  }),
};

export const SHAPE_NAMES = ['adpipe', ...Object.keys(SHAPES)] as const;

/** A record in `shape`, or undefined when that log would not have it. */
export function shapeRecord(shape: string, record: SimRecord): Shaped | undefined {
  const f = SHAPES[shape];
  if (!f) throw new AdpipeError('ADP_ERR_BAD_PARAM', ['shape', `must be one of ${SHAPE_NAMES.join(', ')}`]);
  return f(record);
}

/**
 * Rewrites JSON-lines event files in `shape`, each line as that log would have it; a line that is
 * not a JSON object (the simulator's malformed dirt) stays as it is. Returns the lines written.
 */
export async function reshapeFiles(dir: string, names: readonly string[], shape: string): Promise<number> {
  let written = 0;
  for (const name of names) {
    const file = path.join(dir, name);
    const out: string[] = [];
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (line === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        out.push(line);
        continue;
      }
      const shaped = record && typeof record === 'object' ? shapeRecord(shape, record as SimRecord) : record;
      if (shaped !== undefined) out.push(JSON.stringify(shaped));
    }
    await writeFile(file, out.length ? `${out.join('\n')}\n` : '');
    written += out.length;
  }
  return written;
}
