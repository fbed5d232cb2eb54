// Per-second traffic counters for the live view: a ring of the last 15 minutes, fed by the HTTP
// collector's batches and read by the API's SSE endpoint.
// Money is kept in integer micros so sums stay exact.

export const LIVE_WINDOW_SECONDS = 15 * 60;

export interface LiveSecond {
  /** Unix second (wall clock at collection). */
  t: number;
  events: number;
  impressions: number;
  clicks: number;
  revenueMicros: bigint;
}

export class LiveCounters {
  private readonly ring: LiveSecond[] = [];

  private slot(t: number): LiveSecond {
    const i = t % LIVE_WINDOW_SECONDS;
    let s = this.ring[i];
    if (!s || s.t !== t) {
      s = { t, events: 0, impressions: 0, clicks: 0, revenueMicros: 0n };
      this.ring[i] = s;
    }
    return s;
  }

  /** Counts already summed (a collector batch's, by validateNdjson and validateObjects). */
  add(t: Omit<LiveSecond, 't'>, now = Date.now()): void {
    const s = this.slot(Math.floor(now / 1000));
    s.events += t.events;
    s.impressions += t.impressions;
    s.clicks += t.clicks;
    s.revenueMicros += t.revenueMicros;
  }

  /** The last `seconds` whole seconds, oldest first, zero-filled. */
  window(seconds = 60, now = Date.now()): LiveSecond[] {
    const end = Math.floor(now / 1000);
    const out: LiveSecond[] = [];
    for (let t = end - Math.min(seconds, LIVE_WINDOW_SECONDS) + 1; t <= end; t++) {
      const s = this.ring[t % LIVE_WINDOW_SECONDS];
      out.push(s && s.t === t ? { ...s } : { t, events: 0, impressions: 0, clicks: 0, revenueMicros: 0n });
    }
    return out;
  }
}

/** The process-wide counters. */
export const liveCounters = new LiveCounters();
