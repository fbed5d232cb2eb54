// `--dirty`: what real feeds do to an event stream. Every decision is a pure function of
// (seed, event index) or (seed, chunk), so a regenerated event gets the same treatment and an exact
// duplicate really is byte-identical. Alternative forms are valid and count as clean; malformed
// records are extra records with their own ids and never count.

import { formatMicros } from '../money.js';
import type { World } from './funnel.js';
import { hash32, hashFloat } from './prng.js';
import { isoMs, type SimEvent, type SimRecord, toRecord } from './record.js';

/** Valid spellings the contract accepts besides canonical ISO `Z` times and string ids. */
export const ALT_FORMS = ['epoch_s', 'epoch_ms', 'offset', 'aliases', 'int_ids'] as const;
export type AltForm = (typeof ALT_FORMS)[number];

/** Records the contract rejects. `bad_json` is a broken line, so only line formats can carry it. */
export const MALFORMED = [
  'bad_json',
  'missing_event_id',
  'ts_no_offset',
  'negative_revenue',
  'revenue_scale',
  'unknown_type',
] as const;
export type Malformed = (typeof MALFORMED)[number];

/** How the dirty rate is split between kinds; together they add about `rate` dirty records per event. */
const SHARE = { duplicate: 0.3, malformed: 0.3, alt: 0.25, late: 0.15 } as const;
/** Late events come from a few chunks, a quarter of each, so delivering them regenerates little. */
const LATE_PER_CHUNK = 4;
const SALT = { dup: 0xd0b, alt: 0xa17, bad: 0xbad, late: 0x1a7e, hop: 0x40b } as const;

export class Dirt {
  private readonly lateChunkRate: number;

  constructor(
    private readonly seed: number,
    private readonly rate: number,
    private readonly allowRaw: boolean,
  ) {
    this.lateChunkRate = Math.min(1, rate * SHARE.late * LATE_PER_CHUNK);
  }

  duplicate(index: number): boolean {
    return hashFloat(this.seed, index, SALT.dup) < this.rate * SHARE.duplicate;
  }

  altForm(index: number): AltForm | null {
    const h = hash32(this.seed, index, SALT.alt);
    return h / 0x100000000 < this.rate * SHARE.alt ? ALT_FORMS[h % ALT_FORMS.length]! : null;
  }

  malformed(index: number): Malformed | null {
    const h = hash32(this.seed, index, SALT.bad);
    if (h / 0x100000000 >= this.rate * SHARE.malformed) return null;
    const kinds = this.allowRaw ? MALFORMED : MALFORMED.slice(1);
    return kinds[h % kinds.length]!;
  }

  /** Whether some of the chunk's events arrive late. */
  lateChunk(chunk: number): boolean {
    return hashFloat(this.seed, chunk, SALT.late) < this.lateChunkRate;
  }

  /** The file a late event is delivered in (one or two files after its own), or -1 if it is on time. */
  lateTarget(index: number, chunk: number, home: number, files: number): number {
    if (!this.lateChunk(chunk)) return -1;
    if (hash32(this.seed, index, SALT.late) % LATE_PER_CHUNK !== 0) return -1;
    const target = Math.min(home + 1 + (hash32(this.seed, chunk, SALT.hop) & 1), files - 1);
    return target > home ? target : -1;
  }

  /** The event as it is written: itself, or a record in an alternative (valid) form. */
  present(ev: SimEvent, world: World): SimEvent | Altered {
    const form = this.altForm(ev.index);
    return form ? { altered: alternative(toRecord(ev, world), ev, form) } : ev;
  }

  /** An extra record derived from the event that the contract rejects. */
  broken(ev: SimEvent, world: World, kind: Malformed): Altered {
    const rec = toRecord(ev, world);
    // A fresh id ('_' is never in a base-36 clean id) keeps rejects from shadowing clean events.
    rec.event_id = `${world.tag}_${ev.index.toString(36)}`;
    switch (kind) {
      case 'bad_json': {
        const line = JSON.stringify(rec);
        return { altered: line.slice(0, Math.floor(line.length / 2)) };
      }
      case 'missing_event_id':
        delete rec.event_id;
        break;
      case 'ts_no_offset':
        rec.ts = isoMs(ev.ts).slice(0, -1);
        break;
      case 'negative_revenue':
        rec.revenue = `-${formatMicros(ev.revenue || 1_250_000)}`;
        break;
      case 'revenue_scale':
        rec.revenue = `${formatMicros(ev.revenue)}7`;
        break;
      case 'unknown_type':
        rec.type = 'impresion';
        break;
    }
    return { altered: rec };
  }
}

/** A record written in place of a clean event (alternative form) or in addition to it (malformed). */
export interface Altered {
  readonly altered: SimRecord | string;
}

const KST_MS = 9 * 3_600_000;

function alternative(rec: SimRecord, ev: SimEvent, form: AltForm): SimRecord {
  switch (form) {
    case 'epoch_s':
      return { ...rec, ts: ev.ts / 1000 };
    case 'epoch_ms':
      return { ...rec, ts: ev.ts };
    case 'offset':
      return { ...rec, ts: `${isoMs(ev.ts + KST_MS).slice(0, -1)}+09:00` };
    case 'aliases':
      // Rename in place so the key order stays that of the contract.
      return Object.fromEntries(
        Object.entries(rec).map(([k, v]) => [k === 'type' ? 'event_type' : k === 'ts' ? 'timestamp' : k, v]),
      );
    case 'int_ids':
      return Object.fromEntries(
        Object.entries(rec).map(([k, v]) => [
          k,
          k !== 'event_id' && k.endsWith('_id') && /^\d+$/.test(String(v)) ? Number(v) : v,
        ]),
      );
  }
}
