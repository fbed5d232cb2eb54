// The feed source passes the source conformance suite: each unit offered is a page of Fernet tokens
// (one per line) on a local HTTP feed paged by `?since=` cursors. Finite, `adpipe feed pull` runs it;
// continuous (`every`), `adpipe serve` runs it from adpipe.yaml's `sources:`.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { fernetEncrypt, generateFernetKey, parseFernetKey } from '../../src/sources/feed/fernet.js';
import { FeedSource } from '../../src/sources/feed/source.js';
import { type FeedServer, startFeedServer } from '../helpers/feed-server.js';
import { sourceConformance } from './conformance.js';

const KEY_ENV = 'ADPIPE_TEST_CONFORMANCE_FEED_KEY';
const keyText = generateFernetKey();
const key = parseFernetKey(keyText);
// The spawned `adpipe feed pull` inherits it; the key is never on a command line.
process.env[KEY_ENV] = keyText;

/** The pages (NDJSON of tokens) offered per input dir, in order. */
const feeds = new Map<string, string[]>();
let server: FeedServer;
const feedUrl = (inputDir: string, since = 0) =>
  `${server.url}/feed/${path.basename(inputDir)}?since=${since}`;

/** Every line of the unit as one token; bytes that are not UTF-8 stay as they are. */
function tokens(data: string | Buffer): string {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const lines: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const end = buf.indexOf(0x0a, at);
    const stop = end === -1 ? buf.length : end;
    if (stop > at) lines.push(buf.subarray(at, stop));
    at = stop + 1;
  }
  return `${lines.map((l) => fernetEncrypt(l, key)).join('\n')}\n`;
}

describe('feed source conformance', () => {
  beforeAll(async () => {
    server = await startFeedServer({
      pages: (at) => {
        const url = new URL(at, 'http://feed');
        const pages = feeds.get(url.pathname.replace(/^\/feed\//, ''));
        if (pages === undefined) return undefined;
        const since = Number(url.searchParams.get('since') ?? 0);
        const body = pages[since];
        return body === undefined
          ? { body: '', headers: { 'x-feed-cursor': String(since) } }
          : { body, headers: { 'x-feed-cursor': String(since + 1) } };
      },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  const offer = (_dataDir: string, inputDir: string, _name: string, data: string | Buffer) => {
    const name = path.basename(inputDir);
    const pages = feeds.get(name) ?? [];
    feeds.set(name, pages);
    pages.push(tokens(data));
    return `feed:feed@${feedUrl(inputDir, pages.length - 1)}`;
  };
  const unreadable = { code: 'feed.not_utf8', message: /^token 1 of http:\/\/\S+: \S/ };

  describe('finite: adpipe feed pull', () => {
    sourceConformance({
      offer,
      create: (_dataDir, inputDir) =>
        FeedSource.create({ type: 'feed', name: 'feed', url: feedUrl(inputDir), key_env: KEY_ENV }),
      command: (inputDir) => ['feed', 'pull', '--url', feedUrl(inputDir), '--key-env', KEY_ENV],
      finite: true,
      idle: () => true,
      unreadable,
    });
  });

  describe('continuous: adpipe serve with a configured feed source', () => {
    /** The input dir of the data dir each test's source runs on (the two are made together). */
    const inputOf = new Map<string, string>();
    sourceConformance({
      offer: (dataDir, inputDir, name, data) => {
        inputOf.set(dataDir, inputDir);
        return offer(dataDir, inputDir, name, data);
      },
      create: (_dataDir, inputDir) =>
        FeedSource.create({
          type: 'feed',
          name: 'feed',
          url: feedUrl(inputDir),
          key_env: KEY_ENV,
          every: '1s',
        }),
      command: (inputDir) => {
        const config = path.join(inputDir, 'adpipe.yaml');
        const source = { type: 'feed', name: 'feed', url: feedUrl(inputDir), key_env: KEY_ENV, every: '1s' };
        writeFileSync(config, JSON.stringify({ sources: [source] }));
        return ['--config', config, 'serve', '--port', '0'];
      },
      finite: false,
      // Everything offered is committed once the source has asked for the page after the last one:
      // it fetches a page only after the one before is acknowledged.
      idle: (dataDir) => {
        const inputDir = inputOf.get(dataDir) ?? '';
        const past = feedUrl(inputDir, feeds.get(path.basename(inputDir))?.length ?? 0).replace(
          server.url,
          '',
        );
        return server.requests.includes(past);
      },
      unreadable,
    });
  });
});
