// The feed client against a local HTTP feed encrypted with known keys: every failure a dead letter
// with reason and position, the rest loaded exactly once (content ids dedup overlapping pages and pulls).

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUnits } from '../../../src/loader/loader.js';
import { runReport } from '../../../src/reports/query.js';
import {
  type FeedDeadLetter,
  type FeedOptions,
  feedRejected,
  fetchFeedPage,
  writeFeedRecords,
} from '../../../src/sources/feed/client.js';
import { fernetEncrypt, generateFernetKey, parseFernetKey } from '../../../src/sources/feed/fernet.js';
import { loadFeedKey } from '../../../src/sources/feed/key.js';
import { discoverInputs } from '../../../src/sources/files/discover.js';
import { Warehouse } from '../../../src/warehouse/warehouse.js';
import { type FeedServer, startFeedServer } from '../../helpers/feed-server.js';
import { makeTempDir } from '../../helpers/tmp.js';

const NOW = 1_800_000_000;
const key = parseFernetKey(generateFernetKey());
const otherKey = parseFernetKey(generateFernetKey());
const options: FeedOptions = { key, ttl: 600, now: () => NOW };

/** A contract event as Python's repr prints a dict: single quotes, no event_id. */
const event = (media: string, revenue: string, type = 'impression') =>
  `{'type': '${type}', 'ts': '2026-03-01T10:00:00Z', 'media_id': '${media}', 'revenue': '${revenue}', 'ok': True, 'note': None,}`;
const token = (payload: string, k = key, now = NOW - 5) => fernetEncrypt(payload, k, { now });
const tamper = (t: string) => {
  const raw = Buffer.from(t, 'base64url');
  raw[40] = (raw[40] ?? 0) ^ 1;
  return raw.toString('base64url');
};

/** Pulls from `cursor` until the feed has no more now; returns what a Source would commit. */
async function pull(cursor: string, dir: string) {
  const deadLetters: FeedDeadLetter[] = [];
  let page = await fetchFeedPage(cursor, options);
  const files: string[] = [];
  for (;;) {
    if (page.lines.length > 0) files.push((await writeFeedRecords(page, dir)).file);
    deadLetters.push(...page.deadLetters);
    if (!page.more) break;
    page = await fetchFeedPage(page.nextCursor, options);
  }
  return { files, deadLetters, cursor: page.nextCursor };
}

describe('feed client', () => {
  let server: FeedServer;
  // Page contents per path; a test swaps them between pulls.
  const pages = new Map<string, { body: string; headers?: Record<string, string> }>();

  beforeAll(async () => {
    server = await startFeedServer({ pages: (at) => pages.get(at) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('pages by next link: wrong key, tampered, expired, non-JSON, a call, a list → dead letters; overlaps dedup exactly', async () => {
    pages.set('/link?page=1', {
      body: JSON.stringify({
        items: [
          { data: token(event('m1', '0.100001')) },
          { data: token(event('m1', '0.2')) },
          { data: tamper(token(event('m1', '7'))) },
          { data: token(event('m1', '8'), otherKey) },
          { data: token(event('m1', '9'), key, NOW - 601) },
        ],
        next: '/link?page=2',
      }),
    });
    pages.set('/link?page=2', {
      body: JSON.stringify({
        items: [
          // The same record again, encrypted anew (another IV): an overlapping page.
          { data: token(event('m1', '0.2')) },
          {
            data: token(
              `{"type": "click", "ts": "2026-03-01T10:00:01Z", "media_id": "m1", "event_id": "c1"}`,
            ),
          },
          { data: token('hello world') },
          { data: token("{'type': __import__('os').system('id')}") },
          { data: token('[1, 2]') },
          { nope: 1 },
        ],
      }),
    });
    const dir = makeTempDir('feed-link');
    const wh = await Warehouse.open(makeTempDir('feed-link-wh'));
    try {
      const first = await pull(`${server.url}/link?page=1`, dir);
      expect(first.cursor).toBe(`${server.url}/link?page=2`);
      expect(
        first.deadLetters.map((d) => [d.position.cursor.replace(server.url, ''), d.position.index, d.reason]),
      ).toEqual([
        ['/link?page=1', 2, 'bad_mac'],
        ['/link?page=1', 3, 'bad_mac'],
        ['/link?page=1', 4, 'expired'],
        ['/link?page=2', 2, 'not_literal'],
        ['/link?page=2', 3, 'not_literal'],
        ['/link?page=2', 4, 'not_an_object'],
        ['/link?page=2', 5, 'not_a_token'],
      ]);
      expect(feedRejected(await fetchFeedPage(`${server.url}/link?page=1`, options))[0]).toMatchObject({
        line: 3,
        code: 'feed.bad_mac',
      });
      const loaded = await loadUnits(wh, await discoverInputs([dir]));
      expect(loaded).toMatchObject({ filesRead: 2, accepted: 3, duplicates: 1, rejected: 0 });

      // A second pull from the committed cursor: page 2 again (the feed's last page), unchanged
      // content → the same file, skipped by the ledger; then one new and one repeated record.
      const again = await pull(first.cursor, dir);
      expect(again.deadLetters).toHaveLength(4);
      expect(await loadUnits(wh, await discoverInputs([dir]))).toMatchObject({ filesRead: 0, accepted: 0 });
      pages.set('/link?page=2', {
        body: JSON.stringify({
          items: [
            { data: token(event('m1', '0.100001')) },
            { data: token(event('m2', '1.5').replace("'1.5'", '999999999.999999')) },
          ],
        }),
      });
      await pull(first.cursor, dir);
      expect(await loadUnits(wh, await discoverInputs([dir]))).toMatchObject({
        filesRead: 1,
        accepted: 1,
        duplicates: 1,
      });

      const report = await runReport(wh, { report: 'ad', grain: 'total', by: ['media_id'] });
      expect(report.rows).toEqual([
        expect.objectContaining({ media_id: 'm1', impressions: 2, clicks: 1, revenue: '0.300001' }),
        expect.objectContaining({ media_id: 'm2', impressions: 1, revenue: '999999999.999999' }),
      ]);
    } finally {
      wh.close();
    }
  });

  it("reads seed 003's plain JSON array and NDJSON with ?since= cursors", async () => {
    pages.set('/seed', {
      body: JSON.stringify([{ data: token(event('s', '1')) }, { data: token(event('s', '2')) }]),
    });
    const seed = await fetchFeedPage(`${server.url}/seed`, options);
    expect(seed).toMatchObject({ more: false, nextCursor: `${server.url}/seed`, deadLetters: [] });
    expect(seed.lines).toHaveLength(2);
    expect(JSON.parse(seed.lines[0] as string)).toMatchObject({
      type: 'impression',
      ok: true,
      note: null,
      event_id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });

    pages.set('/since', {
      body: `${token(event('n', '1'))}\n${token(event('n', '2'))}\n`,
      headers: { 'x-feed-cursor': 'c2' },
    });
    pages.set('/since?since=c2', {
      body: `{"data": "${token(event('n', '3'))}"}\n`,
      headers: { 'x-feed-cursor': 'c3' },
    });
    pages.set('/since?since=c3', { body: '', headers: { 'x-feed-cursor': 'c3' } });
    const dir = makeTempDir('feed-since');
    mkdirSync(dir, { recursive: true });
    const got = await pull(`${server.url}/since`, dir);
    expect(got.cursor).toBe(`${server.url}/since?since=c3`);
    expect(got.files.map((f) => path.dirname(f))).toEqual([dir, dir]);
    expect(server.requests.slice(-3)).toEqual(['/since', '/since?since=c2', '/since?since=c3']);
  });

  it('fails the page, not the pull silently, when the feed answers an error or garbage', async () => {
    await expect(fetchFeedPage(`${server.url}/missing`, options)).rejects.toThrow(
      /feed .*\/missing answered HTTP 404/,
    );
    pages.set('/garbage', { body: '{"items": 5}\n<html>' });
    await expect(fetchFeedPage(`${server.url}/garbage`, options)).rejects.toThrow(
      /neither a JSON array nor NDJSON/,
    );
  });

  it('takes the key from an environment variable or a file, never echoing it', () => {
    const text = generateFernetKey();
    process.env.ADPIPE_TEST_FEED_KEY = text;
    expect(loadFeedKey({ env: 'ADPIPE_TEST_FEED_KEY' }).signing.length).toBe(16);
    delete process.env.ADPIPE_TEST_FEED_KEY;
    expect(() => loadFeedKey({ env: 'ADPIPE_TEST_FEED_KEY' })).toThrow(/ADPIPE_TEST_FEED_KEY is not set/);
    expect(() => loadFeedKey({ file: '/nonexistent/key' })).toThrow(/cannot read \/nonexistent\/key: ENOENT/);
  });
});
