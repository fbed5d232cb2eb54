// The view's state lives in the URL query string, so any view can be bookmarked and shared.

export const FILTER_DIMENSIONS = [
  { name: 'org_id', label: 'Publisher' },
  { name: 'media_id', label: 'Media' },
  { name: 'demand_id', label: 'Demand' },
  { name: 'campaign_id', label: 'Campaign' },
  { name: 'device', label: 'Device' },
  { name: 'app_type', label: 'App type' },
  { name: 'country', label: 'Country' },
] as const;

export const PAGES = [
  { id: 'overview', label: 'Overview' },
  { id: 'audience', label: 'Audience' },
  { id: 'attribution', label: 'Attribution' },
  { id: 'experiments', label: 'Experiments' },
] as const;
export type PageId = (typeof PAGES)[number]['id'];

export const ATTRIBUTION_MODELS = ['first', 'last', 'linear', 'time-decay', 'position'] as const;

export interface ViewState {
  page: PageId;
  preset: string;
  from: string;
  to: string;
  tz: string;
  filters: Record<string, string>;
  tsReport: string;
  tsMeasure: string;
  tsGrain: 'hour' | 'day';
  tsStack: string;
  /** Overlay the previous period on the time series. */
  tsCompare: boolean;
  bdReport: string;
  bdBy: string;
  bdTop: number;
  bdOrder: string;
  attrModel: string;
  attrLookback: string;
  experiment: string;
}

const DEFAULTS: ViewState = {
  page: 'overview',
  preset: '7d',
  from: '',
  to: '',
  tz: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  filters: {},
  tsReport: 'ad',
  tsMeasure: 'revenue',
  // Hours show a week's daily rhythm; days flatten it to seven points.
  tsGrain: 'hour',
  tsStack: '',
  tsCompare: false,
  bdReport: 'ad',
  bdBy: 'media_id',
  bdTop: 10,
  bdOrder: '-revenue',
  attrModel: 'last',
  attrLookback: '24h',
  // Empty: the first experiment of the config.
  experiment: '',
};

export function readState(): ViewState {
  const q = new URLSearchParams(location.search);
  const filters: Record<string, string> = {};
  for (const d of FILTER_DIMENSIONS) {
    const v = q.get(d.name);
    if (v) filters[d.name] = v;
  }
  const s = (k: string, fallback: string) => q.get(k) ?? fallback;
  const page = PAGES.find((p) => p.id === q.get('page'))?.id ?? DEFAULTS.page;
  return {
    page,
    preset: s('preset', q.get('from') ? 'custom' : DEFAULTS.preset),
    from: s('from', ''),
    to: s('to', ''),
    tz: s('tz', DEFAULTS.tz),
    filters,
    tsReport: s('ts', DEFAULTS.tsReport),
    tsMeasure: s('measure', DEFAULTS.tsMeasure),
    tsGrain: (q.get('grain') ?? DEFAULTS.tsGrain) === 'day' ? 'day' : 'hour',
    tsStack: s('stack', DEFAULTS.tsStack),
    tsCompare: q.get('prev') === '1',
    bdReport: s('report', DEFAULTS.bdReport),
    bdBy: s('by', DEFAULTS.bdBy),
    bdTop: Number(q.get('top')) || DEFAULTS.bdTop,
    bdOrder: s('order', DEFAULTS.bdOrder),
    attrModel: s('model', DEFAULTS.attrModel),
    attrLookback: s('lookback', DEFAULTS.attrLookback),
    experiment: s('experiment', DEFAULTS.experiment),
  };
}

export function writeState(v: ViewState): void {
  const q = new URLSearchParams();
  const put = (k: string, val: string | number, def: string | number) => {
    if (val !== def && val !== '') q.set(k, String(val));
  };
  put('page', v.page, DEFAULTS.page);
  put('preset', v.preset, DEFAULTS.preset);
  if (v.preset === 'custom') {
    q.set('from', v.from);
    q.set('to', v.to);
  }
  put('tz', v.tz, DEFAULTS.tz);
  for (const [k, val] of Object.entries(v.filters)) if (val) q.set(k, val);
  put('ts', v.tsReport, DEFAULTS.tsReport);
  put('measure', v.tsMeasure, DEFAULTS.tsMeasure);
  put('grain', v.tsGrain, DEFAULTS.tsGrain);
  put('stack', v.tsStack, DEFAULTS.tsStack);
  put('prev', v.tsCompare ? 1 : 0, 0);
  put('report', v.bdReport, DEFAULTS.bdReport);
  put('by', v.bdBy, DEFAULTS.bdBy);
  put('top', v.bdTop, DEFAULTS.bdTop);
  put('order', v.bdOrder, DEFAULTS.bdOrder);
  put('model', v.attrModel, DEFAULTS.attrModel);
  put('lookback', v.attrLookback, DEFAULTS.attrLookback);
  put('experiment', v.experiment, DEFAULTS.experiment);
  const search = q.toString();
  history.replaceState(null, '', search ? `?${search}` : location.pathname);
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export const PRESETS: Array<{ id: string; label: string; days: number }> = [
  { id: '1d', label: 'Latest day', days: 1 },
  { id: '7d', label: 'Latest 7 days', days: 7 },
  { id: '30d', label: 'Latest 30 days', days: 30 },
  { id: 'custom', label: 'Custom', days: 0 },
];

/** Presets end at the newest day with data (in the chosen zone), so old data sets still show. */
export function resolveRange(v: ViewState, latest: string): { from: string; to: string } {
  const preset = PRESETS.find((p) => p.id === v.preset);
  if (!preset || preset.id === 'custom') return { from: v.from || latest, to: v.to || latest };
  const end = Date.parse(`${latest}T00:00:00Z`);
  return { from: iso(end - (preset.days - 1) * DAY), to: latest };
}

/** The range of as many days just before [from, to]. */
export function previousRange(range: { from: string; to: string }): { from: string; to: string } {
  const start = Date.parse(`${range.from}T00:00:00Z`);
  const days = (Date.parse(`${range.to}T00:00:00Z`) - start) / DAY + 1;
  return { from: iso(start - days * DAY), to: iso(start - DAY) };
}

/** An instant's local date in a zone. */
export function localDate(ms: number, tz: string): string {
  return localHour(ms, tz).slice(0, 10);
}

/** An instant's local hour in a zone, as the API names hourly periods: YYYY-MM-DDTHH:00. */
export function localHour(ms: number, tz: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
    })
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:00`;
}

/** Every IANA zone the browser knows, for the zone search. */
export function timeZones(): string[] {
  return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
}

export { isTimeZone } from '../../src/util/zoned';
