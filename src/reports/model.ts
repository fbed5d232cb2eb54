// The report model: every report declared once, as data. Rollups, report queries, sink DDL and
// views, the API and the dashboard are all compiled from these declarations.

import type { EventType, MoneyField } from '../events/contract.js';

export interface Dimension {
  name: string;
  label: string;
  /** The dimension's name in metadata (a dimension table with a `name` column), for display. */
  names?: { table: string; key: string };
}

/**
 * Narrows a count to events that carry a value in `column` (present) or lack one: a request with a
 * demand_id is an SSP's call to that partner, one without is the publisher's ad request.
 */
export interface PresenceFilter {
  column: string;
  present: boolean;
}

/**
 * Additive measures are stored in rollups and summed; `share` measures are computed per report row
 * from a stored one (media revenue = gross × the media's share); `distinct` measures count distinct
 * values of an event column and are computed from rollups that keep that column.
 */
export type Measure =
  | { name: string; label: string; kind: 'count'; types: readonly EventType[]; where?: PresenceFilter }
  | { name: string; label: string; kind: 'sum'; types: readonly EventType[]; column: MoneyField }
  | { name: string; label: string; kind: 'share'; of: string; complement?: false }
  | { name: string; label: string; kind: 'share'; of: string; complement: true }
  | { name: string; label: string; kind: 'distinct'; types: readonly EventType[]; column: string };

export interface DerivedMetric {
  name: string;
  label: string;
  /** Numerator candidates: the first measure the report has is used. */
  num: readonly string[];
  den: string;
  /** Multiplier applied to the ratio (1000 for eCPM). */
  scale: number;
  /** How to show it: a fraction shown as %, or money per unit. */
  format: 'percent' | 'money' | 'ratio';
}

export interface ReportModel {
  name: string;
  title: string;
  /** The table seed 000 kept this report in, the default table name in sinks mapped onto it. */
  seedTable?: string;
  /** Event types that can contribute; other events never touch this report's rollup. */
  types: readonly EventType[];
  dimensions: readonly Dimension[];
  /** Dimensions also reported as an `ALL` row (every combination of them). */
  allDimensions: readonly string[];
  /** More dimensions kept in the rollup so `--by` can regroup by them. */
  extraDimensions: readonly Dimension[];
  measures: readonly Measure[];
  /**
   * The dated metadata table share measures take their share from (media_share per media_id): rows
   * (key, valid_from, column, since_batch), each in force from its local day valid_from on.
   */
  shareSource?: { table: string; key: string; column: string };
}

const dim = (name: string, label: string, table?: string): Dimension =>
  table ? { name, label, names: { table, key: name } } : { name, label };

export const DIMENSIONS = {
  org_id: dim('org_id', 'Publisher', 'dim_org'),
  media_id: dim('media_id', 'Media', 'dim_media'),
  inventory_id: dim('inventory_id', 'Ad unit', 'dim_inventory'),
  ad_id: dim('ad_id', 'Ad'),
  demand_id: dim('demand_id', 'Demand partner', 'dim_demand'),
  campaign_id: dim('campaign_id', 'Campaign', 'dim_campaign'),
  device: dim('device', 'Device'),
  app_type: dim('app_type', 'App type'),
  country: dim('country', 'Country'),
  ad_format: dim('ad_format', 'Ad format'),
  name: dim('name', 'Event name'),
} as const;

const D = DIMENSIONS;
const count = (name: string, label: string, type: EventType, where?: PresenceFilter): Measure => ({
  name,
  label,
  kind: 'count',
  types: [type],
  ...(where && { where }),
});
const sum = (name: string, label: string, column: MoneyField, types: readonly EventType[]): Measure => ({
  name,
  label,
  kind: 'sum',
  types,
  column,
});

// Ad revenue (what the publisher and SSP earn) and advertiser spend are the money of impressions and
// clicks. A conversion's money is the advertiser's order value: it is `conversion_value` in the
// campaign report, never ad revenue (it would inflate eCPM and media revenue by orders of magnitude).
const AD_MONEY_TYPES: readonly EventType[] = ['impression', 'click'];
const FUNNEL_TYPES: readonly EventType[] = ['impression', 'click', 'conversion'];
/** A request without a demand_id is the publisher's ad request; with one, a call to that partner. */
const PUBLISHER_REQUEST: PresenceFilter = { column: 'demand_id', present: false };
const PARTNER_CALL: PresenceFilter = { column: 'demand_id', present: true };

export const REPORTS: readonly ReportModel[] = [
  {
    name: 'ad',
    title: 'Ad performance',
    seedTable: 'sspapp_dmp_d_ad',
    types: FUNNEL_TYPES,
    dimensions: [D.org_id, D.media_id, D.inventory_id, D.ad_id, D.demand_id],
    allDimensions: [],
    extraDimensions: [D.country],
    measures: [
      count('impressions', 'Impressions', 'impression'),
      count('clicks', 'Clicks', 'click'),
      count('conversions', 'Conversions', 'conversion'),
      sum('revenue', 'Revenue', 'revenue', AD_MONEY_TYPES),
      sum('cost', 'Cost', 'cost', AD_MONEY_TYPES),
    ],
  },
  {
    name: 'ad_request',
    title: 'Ad requests',
    seedTable: 'sspapp_dmp_d_ad_request',
    types: ['request', 'response', 'passback'],
    dimensions: [D.org_id, D.media_id, D.inventory_id, D.device, D.app_type],
    allDimensions: ['device', 'app_type'],
    extraDimensions: [D.country],
    measures: [
      count('requests', 'Requests', 'request', PUBLISHER_REQUEST),
      count('responses', 'Responses', 'response'),
      count('passbacks', 'Passbacks', 'passback'),
    ],
  },
  {
    name: 'demand',
    title: 'Demand partners',
    seedTable: 'sspapp_dmp_d_demand',
    types: ['request', 'response', 'passback', ...AD_MONEY_TYPES],
    dimensions: [D.demand_id],
    allDimensions: [],
    extraDimensions: [D.country, D.device, D.ad_format],
    measures: [
      count('requests', 'Requests', 'request', PARTNER_CALL),
      count('responses', 'Responses', 'response'),
      count('passbacks', 'Passbacks', 'passback'),
      count('impressions', 'Impressions', 'impression'),
      count('clicks', 'Clicks', 'click'),
      sum('revenue', 'Revenue', 'revenue', AD_MONEY_TYPES),
      sum('cost', 'Cost', 'cost', AD_MONEY_TYPES),
    ],
  },
  {
    name: 'media',
    title: 'Media revenue',
    seedTable: 'sspapp_dmp_d_media',
    types: AD_MONEY_TYPES,
    dimensions: [D.org_id, D.media_id, D.device],
    allDimensions: ['device'],
    extraDimensions: [D.app_type, D.country],
    measures: [
      count('impressions', 'Impressions', 'impression'),
      count('clicks', 'Clicks', 'click'),
      sum('gross_revenue', 'Gross revenue', 'revenue', AD_MONEY_TYPES),
      { name: 'media_revenue', label: 'Media revenue', kind: 'share', of: 'gross_revenue' },
      {
        name: 'agency_revenue',
        label: 'Agency revenue',
        kind: 'share',
        of: 'gross_revenue',
        complement: true,
      },
    ],
    shareSource: { table: 'media_shares', key: 'media_id', column: 'media_share' },
  },
  {
    name: 'campaign',
    title: 'Campaigns',
    types: FUNNEL_TYPES,
    dimensions: [D.campaign_id],
    allDimensions: [],
    extraDimensions: [D.country, D.device, D.ad_format],
    measures: [
      count('impressions', 'Impressions', 'impression'),
      count('clicks', 'Clicks', 'click'),
      count('conversions', 'Conversions', 'conversion'),
      sum('revenue', 'Revenue', 'revenue', AD_MONEY_TYPES),
      // Seed 001: cost over every event of the funnel, conversion value from conversions only.
      sum('cost', 'Cost', 'cost', FUNNEL_TYPES),
      sum('conversion_value', 'Conversion value', 'revenue', ['conversion']),
    ],
  },
  {
    // Feature usage (seed 002): custom events by name; users per day is the feature's DAU.
    name: 'usage',
    title: 'Feature usage',
    types: ['custom'],
    dimensions: [D.name],
    allDimensions: [],
    extraDimensions: [],
    measures: [
      count('events', 'Events', 'custom'),
      { name: 'users', label: 'Users', kind: 'distinct', types: ['custom'], column: 'user_id' },
    ],
  },
];

export const DERIVED_METRICS: readonly DerivedMetric[] = [
  { name: 'fill_rate', label: 'Fill rate', num: ['responses'], den: 'requests', scale: 1, format: 'percent' },
  {
    name: 'passback_rate',
    label: 'Passback rate',
    num: ['passbacks'],
    den: 'requests',
    scale: 1,
    format: 'percent',
  },
  { name: 'ctr', label: 'CTR', num: ['clicks'], den: 'impressions', scale: 1, format: 'percent' },
  { name: 'cvr', label: 'CVR', num: ['conversions'], den: 'clicks', scale: 1, format: 'percent' },
  {
    name: 'ecpm',
    label: 'eCPM',
    num: ['revenue', 'gross_revenue'],
    den: 'impressions',
    scale: 1000,
    format: 'money',
  },
  { name: 'cpc', label: 'CPC', num: ['cost'], den: 'clicks', scale: 1, format: 'money' },
  { name: 'cpa', label: 'CPA', num: ['cost'], den: 'conversions', scale: 1, format: 'money' },
  { name: 'roas', label: 'ROAS', num: ['conversion_value'], den: 'cost', scale: 1, format: 'ratio' },
];

/** Decimal places derived metrics are rounded to in every dialect, so all databases agree. */
export const DERIVED_SCALE = 6;

export function findReport(name: string): ReportModel | undefined {
  return REPORTS.find((r) => r.name === name);
}

/** The derived metrics a report can compute, each with the numerator it resolves to. */
export function derivedMetrics(report: ReportModel): Array<DerivedMetric & { numerator: string }> {
  const have = new Set(report.measures.map((m) => m.name));
  return DERIVED_METRICS.flatMap((d) => {
    const numerator = d.num.find((n) => have.has(n));
    return numerator && have.has(d.den) ? [{ ...d, numerator }] : [];
  });
}

/** Measures stored in the rollup (additive), in declaration order. */
export function storedMeasures(report: ReportModel) {
  return report.measures.filter(
    (m): m is Extract<Measure, { kind: 'count' | 'sum' }> => m.kind === 'count' || m.kind === 'sum',
  );
}

/** Every dimension column the rollup keeps: the report's own, then the extras. */
export function rollupDimensions(report: ReportModel): Dimension[] {
  const distinct = report.measures.flatMap((m) => (m.kind === 'distinct' ? [dim(m.column, m.column)] : []));
  return [...report.dimensions, ...report.extraDimensions, ...distinct];
}

export function isMoneyMeasure(report: ReportModel, name: string): boolean {
  const m = report.measures.find((x) => x.name === name);
  return !!m && (m.kind === 'sum' || m.kind === 'share');
}

export function rollupTable(report: ReportModel): string {
  return `rollup_${report.name}`;
}
