// Issue #23: random JSON, NDJSON, gzip, Segment calls, pixel and click query strings and report
// queries against a real server. No answer may be a 500, the server must keep answering with its
// memory bounded, and every event it acknowledged must be in the lake exactly once after the drain.
//
// Reproducible: the seed is fixed unless ADPIPE_FUZZ_SEED is set; ADPIPE_FUZZ_RUNS sets the number
// of requests. Bounded: at most FUZZ_TIME_MS of requests, whatever the runs.
//
// Held back for now (fixed by other parts of #23): JSON nested deeper than a few levels.

import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/events/contract.js';
import { lakeRelation } from '../../src/lake/lake.js';
import { REPORTS } from '../../src/reports/model.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { startServer, type TestServer } from '../collector/server.js';

const SEED = Number(process.env.ADPIPE_FUZZ_SEED ?? 2023);
const RUNS = Number(process.env.ADPIPE_FUZZ_RUNS ?? 1500);
const FUZZ_TIME_MS = 40_000;
const RSS_GROWTH_MAX = 400 * 1024 * 1024;

type Obj = Record<string, unknown>;

/** JSON values, nested at most 3 deep (deeper nesting is another part of #23). */
const json = fc.jsonValue({ maxDepth: 3 });
const text = fc.string({ maxLength: 40 });

const ts = fc.oneof(
  fc.constant('2025-03-01T10:00:00Z'),
  fc.integer({ min: 0, max: 253_402_250_399_999 }).map((ms) => new Date(ms).toISOString()),
  fc.integer({ min: -10, max: 3e12 }),
  fc.constantFrom(
    '9999-12-31T23:00:00+09:00',
    '+10000-01-01T00:00:00+09:00',
    '1969-12-31T23:59:59Z',
    '2025-02-30T00:00:00Z',
    '2025-03-01T10:00:00',
    '1.7e9',
  ),
  text,
);
const money = fc.oneof(
  fc.constantFrom('0.001', '12.5', '0', '-1', '1e-7', '999999999999.999999', '1e12'),
  fc.double(),
  text,
);

/** An event record without its id: mostly plausible, with random values and unknown fields. */
const record = fc
  .record(
    {
      type: fc.oneof(fc.constantFrom(...EVENT_TYPES), text),
      ts,
      media_id: fc.oneof(text, fc.integer(), json),
      org_id: fc.oneof(fc.constantFrom('o1', 'o2'), text),
      device: fc.oneof(fc.constantFrom('PC', 'mobile', 'TV'), json),
      revenue: money,
      cost: money,
      props: fc.dictionary(text, json, { maxKeys: 3 }),
    },
    { requiredKeys: ['type', 'ts'] },
  )
  .map(({ props, ...fields }) => ({ ...props, ...fields }) as Obj);

/** Lines that are no event: never blank, so line numbers stay record indexes. */
const junkLine = fc.oneof(
  json.map((v) => JSON.stringify(v)),
  text.filter((s) => s.trim() !== '' && !/[\r\n\u2028\u2029]/.test(s)),
);

type Request =
  | { kind: 'events'; records: Obj[]; junk: Array<[number, string]>; ndjson: boolean; gzip: boolean }
  | { kind: 'raw'; path: string; body: Uint8Array; type: string; gzip: boolean }
  | { kind: 'segment'; messages: Obj[]; batch: boolean }
  | { kind: 'pixel'; path: '/i' | '/c'; params: Array<[string, string]>; withId: boolean }
  | { kind: 'report'; name: string; params: Array<[string, string]> }
  | { kind: 'retry' };

/** Segment calls that carry an event; identify, group and alias do not. */
const EVENT_CALLS = ['track', 'page', 'screen'];
const REPORT_PARAMS = ['from', 'to', 'tz', 'grain', 'by', 'metrics', 'filter', 'order', 'limit', 'top'];
const reportValue = fc.oneof(
  fc.constantFrom('1970-01-01', '2024-04-30', '9999-12-31', '0000-01-01', '2024-02-30'),
  fc.constantFrom('hour', 'day', 'week', 'month', 'total', 'Asia/Seoul', 'Mars/Base', 'true'),
  fc.constantFrom('media_id', 'country,device', 'media_id,media_id', '-revenue', 'ctr', 'media_id:m1|m2'),
  fc.integer({ min: -5, max: 200_000 }).map(String),
  text,
);

const request: fc.Arbitrary<Request> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('events' as const),
      records: fc.array(record, { maxLength: 20 }),
      junk: fc.array(fc.tuple(fc.nat(20), junkLine), { maxLength: 3 }),
      ndjson: fc.boolean(),
      gzip: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('raw' as const),
      path: fc.constantFrom('/v1/events', '/v1/batch', '/v1/track', '/v1/identify'),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        json.map((v) => new TextEncoder().encode(JSON.stringify(v))),
      ),
      type: fc.constantFrom('application/json', 'application/x-ndjson', 'text/plain', ''),
      gzip: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('segment' as const),
      messages: fc.array(
        fc.record({
          type: fc.constantFrom('track', 'page', 'screen', 'identify', 'group', 'alias', 'nope'),
          event: fc.oneof(fc.constantFrom('impression', 'click', 'Signed Up'), text),
          timestamp: ts,
          properties: fc.dictionary(text, json, { maxKeys: 3 }),
        }),
        { maxLength: 8 },
      ),
      batch: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('pixel' as const),
      path: fc.constantFrom('/i' as const, '/c' as const),
      params: fc.array(
        fc.tuple(
          fc.oneof(fc.constantFrom('media_id', 'ts', 'revenue', 'type', 'url', 'sig', 'key'), text),
          text,
        ),
        { maxLength: 5 },
      ),
      withId: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      name: fc.constantFrom(...REPORTS.map((r) => r.name), 'nope'),
      params: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...REPORT_PARAMS), text), reportValue), {
        maxLength: 5,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'retry' as const }) },
);

describe('fuzzing the collector and the report API', () => {
  let s: TestServer;
  let nextId = 0;
  const id = () => `fz-${nextId++}`;
  /** Event ids the server acknowledged (a 2xx that did not reject them). */
  const acknowledged = new Set<string>();
  const sent: Array<() => Promise<Response>> = [];
  let peakRss = 0;

  beforeAll(async () => {
    s = await startServer({ max_batch_events: 100, body_limit: 64 * 1024 });
  });
  afterAll(() => s?.stop());

  const query = (params: Array<[string, string]>) => new URLSearchParams(params).toString();

  /** Sends one request and returns its status; records what it acknowledged. */
  async function send(req: Request): Promise<number> {
    switch (req.kind) {
      case 'events': {
        const records = req.records.map((r) => ({ event_id: id(), ...r }));
        const lines = records.map((r) => JSON.stringify(r));
        // Junk lines first in index order, so each record's index is known.
        const junk = req.ndjson
          ? req.junk.map(([at, line]) => [Math.min(at, lines.length), line] as const)
          : [];
        for (const [at, line] of [...junk].sort((a, b) => b[0] - a[0])) lines.splice(at, 0, line);
        const ids = req.ndjson
          ? lines.map((l) => records.find((r) => JSON.stringify(r) === l)?.event_id)
          : records.map((r) => r.event_id);
        const body = req.ndjson ? lines.join('\n') : JSON.stringify(records);
        const post = () =>
          postBody('/v1/events', body, req.ndjson ? 'application/x-ndjson' : 'application/json', req.gzip);
        return acknowledge(post, ids);
      }
      case 'raw':
        return (await postBody(req.path, req.body, req.type, req.gzip)).status;
      case 'segment': {
        const eventIds = req.messages.map(() => id());
        const messages = req.messages.map((m, i) => ({ messageId: eventIds[i], ...m }));
        const ids = req.messages.map((m, i) =>
          EVENT_CALLS.includes(String(m.type)) ? eventIds[i] : undefined,
        );
        if (req.batch || messages.length !== 1) {
          const body = JSON.stringify({ batch: messages });
          return acknowledge(() => postBody('/v1/batch', body, 'application/json', false), ids);
        }
        const body = JSON.stringify(messages[0]);
        const call = String(req.messages[0]!.type);
        const path = ['track', 'page', 'screen', 'identify', 'group', 'alias'].includes(call)
          ? call
          : 'track';
        return acknowledge(() => postBody(`/v1/${path}`, body, 'application/json', false), ids);
      }
      case 'pixel': {
        const eventId = req.withId ? id() : undefined;
        const params: Array<[string, string]> = eventId ? [['event_id', eventId], ...req.params] : req.params;
        const res = await fetch(`${s.url}${req.path}?${query(params)}`, { redirect: 'manual' });
        await res.arrayBuffer();
        const kept = res.status === 200 && res.headers.get('x-adpipe-rejected') === null;
        const oneId = params.filter(([k]) => k === 'event_id').length === 1;
        if (req.path === '/i' && kept && eventId && oneId) acknowledged.add(eventId);
        return res.status;
      }
      case 'report': {
        const res = await fetch(`${s.url}/v1/reports/${req.name}?${query(req.params)}`);
        await res.arrayBuffer();
        return res.status;
      }
      case 'retry': {
        const again = sent[sent.length - 1];
        if (!again) return 200;
        const res = await again();
        await res.arrayBuffer();
        return res.status;
      }
    }
  }

  function postBody(path: string, body: string | Uint8Array, type: string, gzip: boolean) {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const headers: Record<string, string> = {};
    if (type) headers['content-type'] = type;
    if (gzip) headers['content-encoding'] = 'gzip';
    return fetch(`${s.url}${path}`, {
      method: 'POST',
      headers,
      body: new Uint8Array(gzip ? gzipSync(bytes) : bytes),
    });
  }

  /** Posts, and on a 2xx adds the ids at every index not among the answer's errors. */
  async function acknowledge(post: () => Promise<Response>, ids: Array<string | undefined>): Promise<number> {
    sent.push(post);
    const res = await post();
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) {
      const answer = JSON.parse(text) as { errors: Array<{ index: number }> };
      const rejected = new Set(answer.errors.map((e) => e.index));
      ids.forEach((eventId, i) => {
        if (eventId && !rejected.has(i)) acknowledged.add(eventId);
      });
    }
    return res.status;
  }

  it('answers every request without a 500 and within its memory bound', async () => {
    const startRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const failures: string[] = [];
    try {
      await fc.assert(
        fc.asyncProperty(request, async (req) => {
          const status = await send(req);
          if (status >= 500) failures.push(`${status} for ${JSON.stringify(req).slice(0, 500)}`);
          return status < 500;
        }),
        { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: FUZZ_TIME_MS, endOnFailure: true },
      );
    } finally {
      clearInterval(sampler);
    }
    expect(failures).toEqual([]);
    expect(acknowledged.size).toBeGreaterThan(50);
    expect(peakRss - startRss).toBeLessThan(RSS_GROWTH_MAX);
    // Still serving.
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  }, 90_000);

  it('has every acknowledged event in the lake exactly once after the drain', async () => {
    await s.stop();
    const wh = await Warehouse.open(s.dataDir);
    try {
      const rows = await wh.all<{ event_id: string; n: string }>(
        `SELECT event_id, count(*)::VARCHAR AS n FROM ${await lakeRelation(wh)} WHERE event_id LIKE 'fz-%' GROUP BY event_id`,
      );
      const counts = new Map(rows.map((r) => [r.event_id, Number(r.n)]));
      expect([...acknowledged].filter((e) => counts.get(e) !== 1)).toEqual([]);
      expect(rows.filter((r) => r.n !== '1')).toEqual([]);
    } finally {
      wh.close();
      s = undefined as unknown as TestServer;
    }
  });
});
