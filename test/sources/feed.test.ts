// The feed source passes the source conformance suite: each unit offered is a page of Fernet tokens
// (one per line) on a local HTTP feed paged by `?since=` cursors; `adpipe feed pull` runs it.
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

  sourceConformance({
    offer: (_dataDir, inputDir, _name, data) => {
      const name = path.basename(inputDir);
      const pages = feeds.get(name) ?? [];
      feeds.set(name, pages);
      pages.push(tokens(data));
      return `feed:feed@${feedUrl(inputDir, pages.length - 1)}`;
    },
    create: (_dataDir, inputDir) =>
      FeedSource.create({ type: 'feed', name: 'feed', url: feedUrl(inputDir), key_env: KEY_ENV }),
    command: (inputDir) => ['feed', 'pull', '--url', feedUrl(inputDir), '--key-env', KEY_ENV],
    finite: true,
    idle: () => true,
    unreadable: { code: 'feed.not_utf8', message: /^token 1 of http:\/\/\S+: \S/ },
  });
});
