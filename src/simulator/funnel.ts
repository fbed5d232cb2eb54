// The ad funnel, one chunk at a time: visits by users drawn from a Zipf-like population, each visit a
// few page views on one ad unit, each page view an ad request the SSP offers to demand partners in
// waterfall order (each call answered by a passback or, ending it, a response), responses rendering
// as impressions, impressions drawing clicks at seed 004's CTR, clicks
// converting at the campaign's rate. A small share of visits are fraud bursts instead.

import {
  type Campaign,
  type Catalogue,
  COUNTRIES,
  type Demand,
  FORMAT_CTR,
  FORMAT_FILL,
  type Inventory,
  LIKED_CTR_FACTOR,
  LIKED_TARGETING_WEIGHT,
  LIKED_TOPICS,
  OTHER_CTR_FACTOR,
  PLATFORM_SHARE,
  type Platform,
  RENDER_RATE,
  TOPICS,
  VARIANT_B_FILL_FACTOR,
  VARIANT_B_FLOOR,
  VIDEO_COMPLETE_RATE,
} from './catalogue.js';
import { hash32, Prng, WeightedPicker } from './prng.js';
import { type Creative, creative, type PageView, type SimEvent, TYPE } from './record.js';
import { apportion, countryWeights, HOUR_MS, type Plan } from './traffic.js';

const SESSION_MS = 30 * 60_000;
/** Share of events that leave out media_id, org_id or device, so enrichment from metadata matters. */
const OMIT_RATE = 0.05;
/**
 * Average events of a normal visit (about 2.5 auctions of about 8.5 events with the waterfall's
 * calls), to turn the fraud event share into a visit rate.
 */
const VISIT_EVENTS = 21;
const BURST_CLICKS: readonly [number, number] = [20, 60];

export interface World {
  seed: number;
  /** Prefix of every event_id, from the seed, so runs with different seeds never share ids. */
  tag: string;
  catalogue: Catalogue;
  plan: Plan;
  /** First user index of each country's population, and its size. */
  userOffset: readonly number[];
  userCount: readonly number[];
  /** Probability that a visit is a fraud burst. */
  burstRate: number;
  /** The ads of each campaign, by campaign id. */
  creatives: ReadonlyMap<string, readonly Creative[]>;
  /** Every ad, by `Creative.index`. */
  creativeList: readonly Creative[];
}

export function makeWorld(seed: number, catalogue: Catalogue, plan: Plan, fraud: number): World {
  // Roughly 30 events per user: heavy users come back every hour, the long tail a few times a month.
  const users = Math.min(5_000_000, Math.max(200, Math.round(plan.events / 30)));
  const userCount = apportion(
    users,
    COUNTRIES.map((c) => c.share),
  );
  const userOffset = userCount.map((_, i) => userCount.slice(0, i).reduce((a, b) => a + b, 0));
  const burstEvents = 3 + (BURST_CLICKS[0] + BURST_CLICKS[1]) / 2;
  const burstRate =
    fraud <= 0 ? 0 : (fraud * VISIT_EVENTS) / (burstEvents * (1 - fraud) + fraud * VISIT_EVENTS);
  const creativeList: Creative[] = [];
  const creatives = new Map(
    catalogue.campaigns.map((c) => [
      c.id,
      c.adIds.map((ad) => {
        const cr = creative(creativeList.length, ad, c.id, c.demandId, c.advertiserId);
        creativeList.push(cr);
        return cr;
      }),
    ]),
  );
  return {
    seed,
    tag: hash32(seed, 0x7a6).toString(36).slice(0, 4),
    catalogue,
    plan,
    userOffset,
    userCount,
    burstRate,
    creatives,
    creativeList,
  };
}

interface User {
  platform: Platform;
  os: string;
  /** The browser used on the web; in apps there is none. */
  browser: string;
  /** IPv4 as an unsigned 32-bit number. */
  ip: number;
  variant: string;
  sessionPhase: number;
  /** The topics the user likes (LIKED_TOPICS distinct ones), as bits of their indices in TOPICS. */
  likes: number;
}

/** A user's traits are a pure function of (seed, index), so they agree across chunks and workers. */
function userOf(seed: number, index: number): User {
  const h = hash32(seed, index, 0x05e7);
  const p = (h & 0xffff) / 0x10000;
  const platform: Platform =
    p < PLATFORM_SHARE.desktop
      ? 'desktop'
      : p < PLATFORM_SHARE.desktop + PLATFORM_SHARE.ios
        ? 'ios'
        : 'android';
  const b = (h >>> 16) & 7;
  const os = platform === 'ios' ? 'iOS' : platform === 'android' ? 'Android' : b < 6 ? 'Windows' : 'macOS';
  const browser =
    platform === 'ios' || os === 'macOS'
      ? 'Safari'
      : platform === 'android'
        ? b < 6
          ? 'Chrome'
          : 'Samsung Internet'
        : ['Chrome', 'Chrome', 'Chrome', 'Edge', 'Edge', 'Firefox'][b]!;
  const ipBits = hash32(seed, index, 0x1b);
  return {
    platform,
    os,
    browser,
    ip:
      (((1 + (ipBits % 223)) << 24) |
        (((ipBits >>> 8) & 255) << 16) |
        (((ipBits >>> 16) & 255) << 8) |
        (ipBits >>> 24)) >>>
      0,
    variant: (h >>> 19) & 1 ? 'B' : 'A',
    sessionPhase: hash32(seed, index, 0x5e55) % SESSION_MS,
    likes: likedTopics(hash32(seed, index, 0x70b1c)),
  };
}

/** LIKED_TOPICS distinct topics from a hash, as bits: successive picks among the topics not yet taken. */
function likedTopics(h: number): number {
  let liked = 0;
  for (let i = 0; i < LIKED_TOPICS; i++) {
    let k = h % (TOPICS.length - i);
    h = Math.floor(h / TOPICS.length);
    let t = 0;
    for (; liked & (1 << t) || k-- > 0; t++);
    liked |= 1 << t;
  }
  return liked;
}

const likes = (liked: number, campaign: Campaign) => (liked & (1 << TOPICS.indexOf(campaign.topic))) !== 0;

/**
 * A partner's campaign for a user (r uniform in [0, 1)), those on liked topics weighted up, and the
 * factor on the format's CTR: liked or not, divided by its mean over this pick, so that clicks per
 * impression by format stay seed 004's for every user and partner.
 */
function targeted(
  campaigns: readonly Campaign[],
  liked: number,
  r: number,
): { campaign: Campaign; ctrFactor: number } {
  const weight = (c: Campaign) => (likes(liked, c) ? LIKED_TARGETING_WEIGHT : 1);
  const factor = (c: Campaign) => (likes(liked, c) ? LIKED_CTR_FACTOR : OTHER_CTR_FACTOR);
  let total = 0;
  let mean = 0;
  for (const c of campaigns) {
    total += weight(c);
    mean += weight(c) * factor(c);
  }
  mean /= total;
  let left = r * total;
  let campaign = campaigns[campaigns.length - 1]!;
  for (const c of campaigns) {
    left -= weight(c);
    if (left < 0) {
      campaign = c;
      break;
    }
  }
  return { campaign, ctrFactor: factor(campaign) / mean };
}

/** A chunk's events. The objects are reused from chunk to chunk: a consumer copies what it keeps. */
export class EventBlock {
  readonly events: SimEvent[] = [];
  length = 0;
}

/** A copy of an event that outlives its block. */
export function copyEvent(ev: SimEvent): SimEvent {
  return { ...ev };
}

/** Fills `block` with exactly the chunk's events, in generation order. */
export function generateChunk(world: World, chunkIndex: number, block: EventBlock): void {
  const { plan, catalogue } = world;
  const chunk = plan.chunks[chunkIndex]!;
  const rng = new Prng(world.seed, chunkIndex);
  const hourStart = plan.startMs + chunk.hour * HOUR_MS;
  const budget = plan.hourBudget[chunk.hour]!;
  const windowEnd = plan.startMs + plan.hours * HOUR_MS;
  const countries = new WeightedPicker(
    COUNTRIES.map((_, i) => i),
    countryWeights(hourStart),
  );
  const events = block.events;
  block.length = 0;

  let page: PageView | null = null;
  const emit = (type: number, ts: number): SimEvent | null => {
    const n = block.length;
    if (n >= chunk.size || ts >= windowEnd) return null;
    const r = rng.float();
    const omit = r < 3 * OMIT_RATE ? 1 + Math.floor(r / OMIT_RATE) : 0;
    let ev = events[n];
    if (ev === undefined) {
      ev = {
        index: 0,
        type,
        name: null,
        ts,
        omit,
        page: page!,
        demand: -1,
        creative: null,
        revenue: 0,
        cost: 0,
        bid_price: 0,
      };
      events.push(ev);
    }
    ev.index = chunk.start + n;
    ev.type = type;
    ev.name = null;
    ev.ts = ts;
    ev.omit = omit;
    ev.page = page!;
    ev.demand = -1;
    ev.creative = null;
    ev.revenue = 0;
    ev.cost = 0;
    ev.bid_price = 0;
    block.length = n + 1;
    return ev;
  };
  /**
   * The demand waterfall: the partners in order, each call a request with its demand_id answered by
   * a passback (try the next) or a response; undefined when every partner passed back or the chunk
   * is full. Returns the filling partner and the time of its answer.
   */
  const waterfall = (t0: number, fill: number): { demand: Demand; at: number } | undefined => {
    let t = t0 + rng.between(5, 20);
    for (const demand of catalogue.demand) {
      const call = emit(TYPE.request, t);
      if (!call) return undefined;
      call.demand = demand.index;
      t += rng.between(30, 300);
      if (rng.float() < 1 - (1 - fill) ** demand.fillWeight) return { demand, at: t };
      const pb = emit(TYPE.passback, t);
      if (!pb) return undefined;
      pb.demand = demand.index;
    }
    return undefined;
  };
  // One auction: the publisher's ad request (no demand_id), the waterfall, then impression, click,
  // conversion. Returns the impression for fraud bursts to hang clicks on.
  const auction = (t0: number, c: number, user: User, inv: Inventory): SimEvent | null => {
    if (!emit(TYPE.request, t0)) return null;
    const variantB = user.variant === 'B';
    const filled = waterfall(t0, FORMAT_FILL[inv.format] * (variantB ? VARIANT_B_FILL_FACTOR : 1));
    if (!filled) return null;
    const { demand, at: tAnswer } = filled;
    const { campaign, ctrFactor } = targeted(
      catalogue.campaignsByDemand.get(demand.id)!,
      user.likes,
      rng.float(),
    );
    const ad = rng.pick(world.creatives.get(campaign.id)!);
    const [lo, hi] = COUNTRIES[c]!.ecpmMicros;
    const floor = lo + (variantB ? Math.ceil((hi - lo) * VARIANT_B_FLOOR) : 0);
    // Revenue per impression is eCPM / 1000; eCPM bounds are whole thousands of micros, so this is exact.
    const revenue = rng.between(Math.ceil(floor / 1000), hi / 1000);
    const res = emit(TYPE.response, tAnswer);
    if (!res) return null;
    res.demand = demand.index;
    res.bid_price = revenue * 1000;
    if (rng.float() >= RENDER_RATE) return null;
    const imp = emit(TYPE.impression, tAnswer + rng.between(100, 2500));
    if (!imp) return null;
    imp.creative = ad;
    imp.revenue = revenue;
    if (inv.format === 'rewarded_video' && rng.float() < VIDEO_COMPLETE_RATE) {
      const done = emit(TYPE.custom, imp.ts + rng.between(15_000, 30_000));
      if (done) {
        done.name = 'video_complete';
        done.creative = ad;
      }
    }
    if (rng.float() < FORMAT_CTR[inv.format] * ctrFactor) {
      const click = emit(TYPE.click, imp.ts + rng.between(1000, 30_000));
      if (click) {
        click.creative = ad;
        click.cost = campaign.cpcMicros;
        if (rng.float() < campaign.cvr) {
          const conv = emit(TYPE.conversion, click.ts + rng.between(60_000, SESSION_MS));
          if (conv) {
            conv.creative = ad;
            // Order value in whole cents, $5-$150.
            conv.revenue = rng.between(500, 15_000) * 10_000;
          }
        }
      }
    }
    return imp;
  };

  while (block.length < chunk.size) {
    // Events are spread over the hour by their position in its budget, so time follows arrival order.
    const t0 = hourStart + Math.floor(((chunk.offsetInHour + block.length) * HOUR_MS) / budget);
    const c = countries.pick(rng);
    const userIndex = world.userOffset[c]! + rng.zipf(world.userCount[c]!, 10);
    const user = userOf(world.seed, userIndex);
    const inv = catalogue.pools[user.platform].pick(rng);
    const fraud = world.burstRate > 0 && rng.float() < world.burstRate;
    page = {
      inv,
      country: COUNTRIES[c]!.code,
      os: user.os,
      browser: inv.appType === 'WEB' ? user.browser : null,
      user: userIndex,
      session: Math.floor((t0 + user.sessionPhase) / SESSION_MS),
      variant: user.variant,
      // A bot farm's device sits behind a datacenter address (198.51.100.x).
      ip: fraud ? (0xc6336400 | (userIndex % 256)) >>> 0 : user.ip,
    };
    if (fraud) {
      // A bot: auctions until one renders, then a click every second or two for about a minute.
      let shown: SimEvent | null = null;
      for (let tries = 0; !shown && tries < 8 && block.length < chunk.size; tries++)
        shown = auction(t0 + tries * 1000, c, user, inv);
      if (!shown) continue;
      const clicks = rng.between(BURST_CLICKS[0], BURST_CLICKS[1]);
      for (let k = 0; k < clicks; k++) {
        const click = emit(TYPE.click, shown.ts + 500 + Math.floor((k * 59_000) / clicks));
        if (!click) break;
        click.creative = shown.creative;
      }
      continue;
    }
    const views = 1 + Math.min(3, rng.zipf(8, 1));
    for (let v = 0; v < views && block.length < chunk.size; v++)
      auction(t0 + v * rng.between(5_000, 60_000), c, user, inv);
  }
}
