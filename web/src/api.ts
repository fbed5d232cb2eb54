// Talking to the query API: the read key (kept in this browser), errors turned into sentences.

export interface ReportColumn {
  name: string;
  kind: 'period' | 'dimension' | 'name' | 'measure' | 'metric';
  money?: boolean;
}
export type Row = Record<string, string | number | null>;
export interface ReportResponse {
  columns: ReportColumn[];
  rows: Row[];
  totals?: Row;
  compare?: {
    from: string;
    to: string;
    /** Set while the range is running: the previous period is cut at the same time into it. */
    before?: string;
    totals: Row;
    change: Record<string, number | null>;
  };
}
export interface ReportModel {
  name: string;
  title: string;
  dimensions: Array<{ name: string; label: string; extra: boolean; all: boolean; nameColumn?: string }>;
  measures: Array<{ name: string; label: string; kind: string; money: boolean }>;
  metrics: Array<{ name: string; label: string; format: 'percent' | 'money' | 'ratio' }>;
}

const KEY = 'adpipe.readKey';
export const readKey = {
  get: () => localStorage.getItem(KEY) ?? '',
  set: (k: string) => localStorage.setItem(KEY, k),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function headers(): HeadersInit {
  const key = readKey.get();
  return key ? { authorization: `Bearer ${key}` } : {};
}

async function failure(res: Response): Promise<ApiError> {
  let detail = res.statusText;
  try {
    detail = ((await res.json()) as { error?: { message?: string } }).error?.message ?? detail;
  } catch {
    /* not JSON: keep the status text */
  }
  if (res.status === 401) return new ApiError(401, 'This server needs a read key. Enter it above.');
  if (res.status === 403) return new ApiError(403, `The key was refused: ${detail}`);
  return new ApiError(res.status, detail);
}

export async function getJson<T>(path: string, params?: URLSearchParams): Promise<T> {
  let res: Response;
  try {
    res = await fetch(params ? `${path}?${params}` : path, { headers: headers() });
  } catch {
    throw new ApiError(0, 'The adpipe server cannot be reached. Is `adpipe serve` running?');
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function download(path: string, params: URLSearchParams, fallbackName: string): Promise<void> {
  const res = await fetch(`${path}?${params}`, { headers: headers() });
  if (!res.ok) throw await failure(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function liveUrl(seconds: number): string {
  const key = readKey.get();
  return `/v1/live?seconds=${seconds}${key ? `&key=${encodeURIComponent(key)}` : ''}`;
}
