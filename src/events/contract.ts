// The event contract, v1: the single description of an ad event that every stage reads.
// The SQL validator (validate-sql.ts), the JS validator (validate.ts), the lake schema and the docs
// (docs/events.md) are all derived from these tables, so a rule changes in one place.

export const CONTRACT_VERSION = 1;

export const AD_EVENT_TYPES = [
  'request',
  'response',
  'passback',
  'impression',
  'click',
  'conversion',
] as const;
export const EVENT_TYPES = [...AD_EVENT_TYPES, 'custom'] as const;
export type AdEventType = (typeof AD_EVENT_TYPES)[number];
export type EventType = (typeof EVENT_TYPES)[number];

export const DEVICES = ['PC', 'MOBILE'] as const;
export const APP_TYPES = ['WEB', 'IOS', 'AOS'] as const;

/** Ids: strings; integers are accepted and become strings. */
export const ID_FIELDS = [
  'org_id',
  'media_id',
  'inventory_id',
  'ad_id',
  'campaign_id',
  'demand_id',
  'advertiser_id',
] as const;

/** Free-form optional strings. */
export const TEXT_FIELDS = [
  'ad_format',
  'country',
  'os',
  'browser',
  'city',
  'user_id',
  'session_id',
  'experiment',
  'variant',
  'ip',
  'user_agent',
] as const;

/** Closed vocabularies, matched case-insensitively and stored upper-case. */
export const ENUM_FIELDS = { device: DEVICES, app_type: APP_TYPES } as const;

/** Money: decimal >= 0 with at most 6 fractional digits; stored as DECIMAL(18,6). */
export const MONEY_FIELDS = ['revenue', 'cost', 'bid_price'] as const;
export const MONEY_SCALE = 6;
export const MONEY_SQL_TYPE = 'DECIMAL(18,6)';
/**
 * Largest money value of one event: below 10^9, so a rollup row (DECIMAL(18,6), below 10^12) holds
 * the sum of at least 1000 events at the maximum. Past that, ingest splits the row (see ingest.ts).
 */
export const MONEY_MAX = '999999999.999999';

export const ID_MAX_LENGTH = 128;
export const NAME_MAX_LENGTH = 128;
/** Free text is capped so one hostile record cannot bloat a partition. */
export const TEXT_MAX_LENGTH = 2048;
/**
 * Levels of nesting a record may have, the record's own braces counting as one: real events are
 * flat with props a few levels deep, and a limit keeps recursive code (JSON.stringify) off a
 * hostile record's depth.
 */
export const RECORD_MAX_DEPTH = 64;

/** Epoch numbers below this are seconds, at or above it milliseconds. */
export const EPOCH_MS_THRESHOLD = 1e11;

/** Accepted spellings of fields, alias -> canonical name. The canonical name wins when both are present. */
export const ALIASES: Readonly<Record<string, string>> = {
  event_type: 'type',
  timestamp: 'ts',
};

export type Device = (typeof DEVICES)[number];
export type AppType = (typeof APP_TYPES)[number];
export type MoneyField = (typeof MONEY_FIELDS)[number];

/** A validated, normalised event as it lands in the lake. Money is a decimal string with 6 digits. */
export interface AdEvent {
  event_id: string;
  type: EventType;
  name: string | null;
  /** Event time, UTC, ISO-8601 with milliseconds and `Z`. */
  ts: string;
  org_id: string | null;
  media_id: string | null;
  inventory_id: string | null;
  ad_id: string | null;
  campaign_id: string | null;
  demand_id: string | null;
  advertiser_id: string | null;
  device: Device | null;
  app_type: AppType | null;
  ad_format: string | null;
  country: string | null;
  os: string | null;
  browser: string | null;
  city: string | null;
  user_id: string | null;
  session_id: string | null;
  experiment: string | null;
  variant: string | null;
  ip: string | null;
  user_agent: string | null;
  revenue: string;
  cost: string;
  bid_price: string;
  /** Unknown fields, kept as a JSON object text, or null when there were none. */
  props: string | null;
}

/** The contract's canonical fields in their documented order: the columns of tabular formats. */
export const CANONICAL_FIELDS: readonly string[] = [
  'event_id',
  'type',
  'name',
  'ts',
  ...ID_FIELDS,
  ...Object.keys(ENUM_FIELDS),
  ...TEXT_FIELDS,
  ...MONEY_FIELDS,
];

/** Every field the contract knows, canonical names first, then aliases. */
export const KNOWN_FIELDS: readonly string[] = [...CANONICAL_FIELDS, ...Object.keys(ALIASES)];

/**
 * The lake's columns in order, with their DuckDB types. Partition columns (dt, hour) are added by
 * the lake writer; `batch_id` ties each row to the ingest group that wrote it.
 */
export const LAKE_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['event_id', 'VARCHAR'],
  ['type', 'VARCHAR'],
  ['name', 'VARCHAR'],
  ['ts', 'TIMESTAMPTZ'],
  ...ID_FIELDS.map((f) => [f, 'VARCHAR'] as const),
  ['device', 'VARCHAR'],
  ['app_type', 'VARCHAR'],
  ...TEXT_FIELDS.map((f) => [f, 'VARCHAR'] as const),
  ...MONEY_FIELDS.map((f) => [f, MONEY_SQL_TYPE] as const),
  ['props', 'VARCHAR'],
  ['source', 'VARCHAR'],
  ['batch_id', 'BIGINT'],
];
