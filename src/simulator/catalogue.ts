// The simulated world: seed 004's formats and countries, and a publisher hierarchy
// (org -> media -> inventory), demand partners and campaigns drawn once from the seed.
// Ids are numeric strings, like the database keys seed 000 joins on, so integer ids in dirty data
// normalise to the same values.

import type { AppType, Device } from '../events/contract.js';
import { Prng, WeightedPicker } from './prng.js';

export const AD_FORMATS = ['banner', 'interstitial', 'rewarded_video'] as const;
export type AdFormat = (typeof AD_FORMATS)[number];

/** Clicks per impression by format (seed 004). */
export const FORMAT_CTR: Readonly<Record<AdFormat, number>> = {
  banner: 0.05,
  interstitial: 0.12,
  rewarded_video: 0.25,
};

/** Share of ad requests the demand waterfall fills (some partner answers with an ad), for variant A. */
export const FORMAT_FILL: Readonly<Record<AdFormat, number>> = {
  banner: 0.7,
  interstitial: 0.8,
  rewarded_video: 0.85,
};

/**
 * Each user likes LIKED_TOPICS of the TOPICS: an ad of a campaign on one of them draws clicks at
 * LIKED_CTR_FACTOR / OTHER_CTR_FACTOR (8) times the rate of any other, both scaled so that the mean
 * over the campaigns a user is shown is the format's CTR: stable preferences recommendations can learn.
 */
export const LIKED_TOPICS = 2;
/** Interest targeting: a partner that fills picks a campaign on a liked topic this many times as often. */
export const LIKED_TARGETING_WEIGHT = 4;
export const LIKED_CTR_FACTOR = 4;
export const OTHER_CTR_FACTOR = 0.5;

/** Share of responses that render as an impression. */
export const RENDER_RATE = 0.92;
/** Share of rewarded-video impressions watched to the end (a `custom` video_complete event). */
export const VIDEO_COMPLETE_RATE = 0.85;

/** Experiment `floor_v2`: variant B raises the price floor, so it fills less but earns more per impression. */
export const EXPERIMENT = 'floor_v2';
export const VARIANT_B_FILL_FACTOR = 0.94;
/** Variant B clears only in the top part of the country's eCPM range: [lo + 0.2 (hi - lo), hi]. */
export const VARIANT_B_FLOOR = 0.2;

export interface Country {
  code: string;
  /**
   * eCPM range in micros. Seed 004's per-country ranges ($0.02-$0.10 for the US) keep their
   * proportions but are scaled ×100 to realistic in-app eCPMs ($2-$10); revenue per impression is
   * eCPM / 1000, so its micros are exact.
   */
  ecpmMicros: readonly [number, number];
  /** Fixed UTC offset in hours, for the local-time traffic curve. */
  tz: number;
  /** Share of the user population. */
  share: number;
}

export const COUNTRIES: readonly Country[] = [
  { code: 'US', ecpmMicros: [2_000_000, 10_000_000], tz: -5, share: 0.28 },
  { code: 'KR', ecpmMicros: [1_000_000, 5_000_000], tz: 9, share: 0.22 },
  { code: 'JP', ecpmMicros: [1_500_000, 8_000_000], tz: 9, share: 0.15 },
  { code: 'UK', ecpmMicros: [1_500_000, 7_000_000], tz: 0, share: 0.1 },
  { code: 'DE', ecpmMicros: [1_000_000, 6_000_000], tz: 1, share: 0.09 },
  { code: 'FR', ecpmMicros: [1_000_000, 5_000_000], tz: 1, share: 0.08 },
  { code: 'CA', ecpmMicros: [1_500_000, 7_000_000], tz: -5, share: 0.08 },
];

/** How a user reaches ads: desktop web, or a phone (apps and mobile web). */
export const PLATFORMS = ['desktop', 'ios', 'android'] as const;
export type Platform = (typeof PLATFORMS)[number];
export const PLATFORM_SHARE: Readonly<Record<Platform, number>> = { desktop: 0.25, ios: 0.3, android: 0.45 };
/** On phones, the share of requests from apps rather than mobile web. */
const APP_SHARE = 0.7;

export interface Org {
  id: string;
  name: string;
}
export interface Media {
  id: string;
  name: string;
  orgId: string;
  /** The publisher's share of revenue, 0.50-0.80, as an exact two-digit decimal. */
  share: string;
  appType: AppType;
}
export interface Inventory {
  /** Position in `Catalogue.inventory`, for the encoder's per-unit byte fragments. */
  index: number;
  id: string;
  name: string;
  mediaId: string;
  orgId: string;
  format: AdFormat;
  device: Device;
  appType: AppType;
}
export interface Demand {
  /** Position in `Catalogue.demand`, which is the waterfall's order. */
  index: number;
  id: string;
  name: string;
  /**
   * The partner's part of the waterfall's fill: it fills a call with probability 1 - (1 - F)^weight,
   * and the weights sum to 1, so the whole waterfall fills F (the format's fill rate).
   */
  fillWeight: number;
}
export interface Campaign {
  id: string;
  name: string;
  /** What the campaign advertises, one of TOPICS: users click more on the topics they like. */
  topic: string;
  advertiserId: string;
  demandId: string;
  adIds: readonly string[];
  /** What the advertiser pays per click (CPC buying), in micros. */
  cpcMicros: number;
  /** Conversions per click. */
  cvr: number;
}

export interface Catalogue {
  orgs: readonly Org[];
  media: readonly Media[];
  inventory: readonly Inventory[];
  /** Demand partners in the order the SSP calls them (premium first, each filling more than the next). */
  demand: readonly Demand[];
  campaigns: readonly Campaign[];
  campaignsByDemand: ReadonlyMap<string, readonly Campaign[]>;
  /** Inventory a user on each platform can reach, weighted by popularity. */
  pools: Readonly<Record<Platform, WeightedPicker<Inventory>>>;
}

const ORG_NAMES = [
  'Hanbit Media',
  'Blue Harbor',
  'Sora Digital',
  'Northwind Press',
  'Pixel Forge',
  'Maple Studio',
];
export const TOPICS = ['News', 'Sports', 'Puzzle', 'Weather', 'Recipes', 'Finance', 'Music', 'Travel'];
const DEMAND_NAMES = ['AdNova DSP', 'BidStream', 'Crimson Exchange', 'Delta Ads', 'Everbid', 'Fathom Media'];
const ADVERTISERS = 10;
const CAMPAIGNS = 24;
const ADS_PER_CAMPAIGN = 3;
const APP_LABEL: Readonly<Record<AppType, string>> = { WEB: 'web', IOS: 'iOS', AOS: 'Android' };

/** The catalogue is small and fixed per seed, so every chunk and worker rebuilds the same one. */
export function buildCatalogue(seed: number): Catalogue {
  const rng = new Prng(seed, 0xca7a);
  const orgs: Org[] = ORG_NAMES.map((name, i) => ({ id: String(101 + i), name }));
  const media: Media[] = [];
  const inventory: Inventory[] = [];
  const weights: number[] = [];
  for (const org of orgs) {
    const count = rng.between(3, 6);
    for (let m = 0; m < count; m++) {
      // Cycling kinds guarantees every platform pool has inventory.
      const appType = (['WEB', 'IOS', 'AOS'] as const)[media.length % 3]!;
      const med: Media = {
        id: String(2001 + media.length),
        name: `${org.name} ${rng.pick(TOPICS)} (${APP_LABEL[appType]})`,
        orgId: org.id,
        share: `0.${rng.between(50, 80)}`,
        appType,
      };
      media.push(med);
      const units = rng.between(3, 6);
      for (let u = 0; u < units; u++) {
        const device: Device = appType === 'WEB' && u % 2 === 0 ? 'PC' : 'MOBILE';
        const format = inventoryFormat(rng, appType, device, u);
        inventory.push({
          index: inventory.length,
          id: String(30001 + inventory.length),
          name: `${med.name} ${format} ${u + 1}`,
          mediaId: med.id,
          orgId: org.id,
          format,
          device,
          appType,
        });
        weights.push(1 + 9 * rng.float() ** 2);
      }
    }
  }

  // Weights 6:5:…:1, so the first partners fill most calls (skewed market share).
  const weightSum = (DEMAND_NAMES.length * (DEMAND_NAMES.length + 1)) / 2;
  const demand: Demand[] = DEMAND_NAMES.map((name, i) => ({
    index: i,
    id: String(401 + i),
    name,
    fillWeight: (DEMAND_NAMES.length - i) / weightSum,
  }));
  const campaigns: Campaign[] = [];
  for (let c = 0; c < CAMPAIGNS; c++) {
    const id = String(5001 + c);
    const topic = rng.pick(TOPICS);
    campaigns.push({
      id,
      name: `Campaign ${id} ${topic}`,
      topic,
      advertiserId: String(701 + (c % ADVERTISERS)),
      demandId: demand[c % demand.length]!.id,
      adIds: Array.from({ length: ADS_PER_CAMPAIGN }, (_, a) => String(60001 + c * ADS_PER_CAMPAIGN + a)),
      cpcMicros: rng.between(10, 150) * 10_000,
      cvr: 0.02 + 0.06 * rng.float(),
    });
  }
  const campaignsByDemand = new Map(demand.map((d) => [d.id, campaigns.filter((c) => c.demandId === d.id)]));

  const pool = (reach: (inv: Inventory) => number): WeightedPicker<Inventory> => {
    const reachable = inventory
      .map((inv, i) => [inv, weights[i]! * reach(inv)] as const)
      .filter(([, w]) => w > 0);
    return new WeightedPicker(
      reachable.map(([inv]) => inv),
      reachable.map(([, w]) => w),
    );
  };
  const phone = (app: AppType) => (inv: Inventory) =>
    inv.appType === app ? APP_SHARE : inv.appType === 'WEB' && inv.device === 'MOBILE' ? 1 - APP_SHARE : 0;
  return {
    orgs,
    media,
    inventory,
    demand,
    campaigns,
    campaignsByDemand,
    pools: {
      desktop: pool((inv) => (inv.device === 'PC' ? 1 : 0)),
      ios: pool(phone('IOS')),
      android: pool(phone('AOS')),
    },
  };
}

function inventoryFormat(rng: Prng, appType: AppType, device: Device, unit: number): AdFormat {
  if (device === 'PC') return 'banner';
  if (appType === 'WEB') return rng.float() < 0.7 ? 'banner' : 'interstitial';
  // The first three units of an app cover every format, so each format always has traffic.
  if (unit < 3) return AD_FORMATS[unit]!;
  const r = rng.float();
  return r < 0.5 ? 'banner' : r < 0.8 ? 'interstitial' : 'rewarded_video';
}

/** The metadata CSVs that `adpipe ingest --metadata` joins on, by file name. Names never contain commas. */
export function metadataFiles(cat: Catalogue): Record<string, string> {
  const csv = (header: string, rows: ReadonlyArray<readonly string[]>) =>
    `${header}\n${rows.map((r) => r.join(',')).join('\n')}\n`;
  return {
    'orgs.csv': csv(
      'org_id,name',
      cat.orgs.map((o) => [o.id, o.name]),
    ),
    'media.csv': csv(
      'media_id,name,org_id,media_share',
      cat.media.map((m) => [m.id, m.name, m.orgId, m.share]),
    ),
    'inventory.csv': csv(
      'inventory_id,name,media_id,ad_type,device',
      cat.inventory.map((i) => [i.id, i.name, i.mediaId, i.format, i.device]),
    ),
    'demand.csv': csv(
      'demand_id,name',
      cat.demand.map((d) => [d.id, d.name]),
    ),
    // `advertiser` holds the advertiser id that events carry as advertiser_id, so the two join.
    'campaigns.csv': csv(
      'campaign_id,name,advertiser',
      cat.campaigns.map((c) => [c.id, c.name, c.advertiserId]),
    ),
  };
}
