// The feed source on a clock (`every`), run by the real runtime on a real warehouse against a local
// feed that fails twice: each failed fetch waits twice as long as the one before (exponential
// backoff, ±10 % jitter), then the page loads and the cursor is committed with it.

import { expect, it } from 'vitest';
import { committedPositions } from '../../../src/loader/loader.js';
import { Runtime } from '../../../src/runtime/runtime.js';
import { fernetEncrypt, generateFernetKey, parseFernetKey } from '../../../src/sources/feed/fernet.js';
import { FeedSource } from '../../../src/sources/feed/source.js';
import { Warehouse } from '../../../src/warehouse/warehouse.js';
import { startFeedServer } from '../../helpers/feed-server.js';
import { makeTempDir } from '../../helpers/tmp.js';

const KEY_ENV = 'ADPIPE_TEST_EVERY_FEED_KEY';

it('backs off exponentially while the feed fails, then loads and commits the cursor', async () => {
  const keyText = generateFernetKey();
  process.env[KEY_ENV] = keyText;
  const token = fernetEncrypt(
    `{'type': 'impression', 'ts': '2026-03-01T10:00:00Z', 'media_id': 'm1', 'revenue': '0.25'}`,
    parseFernetKey(keyText),
  );
  const times: number[] = [];
  const feed = await startFeedServer({
    pages: () => {
      times.push(Date.now());
      return times.length <= 2 ? undefined : { body: JSON.stringify({ items: [token], cursor: 'c1' }) };
    },
  });
  const wh = await Warehouse.open(makeTempDir('feed-every'));
  try {
    const runtime = await Runtime.open(wh);
    const source = await FeedSource.create({
      type: 'feed',
      name: 'ticking',
      url: `${feed.url}/logs`,
      key_env: KEY_ENV,
      every: '1s',
    });
    await runtime.start(source);
    const until = Date.now() + 20_000;
    while (Object.keys(await committedPositions(wh, 'ticking')).length === 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    await runtime.close();
    expect(await committedPositions(wh, 'ticking')).toEqual({ cursor: `${feed.url}/logs?since=c1` });
    const loaded = await wh.one<{ n: string }>(
      "SELECT sum(accepted)::VARCHAR AS n FROM batches WHERE kind = 'feed'",
    );
    expect(loaded?.n).toBe('1');
    // Two 404s: then 1 s × 2 and 1 s × 4, each ±10 %.
    const [first, second] = [times[1]! - times[0]!, times[2]! - times[1]!];
    expect(first).toBeGreaterThanOrEqual(1800);
    expect(first).toBeLessThan(3000);
    expect(second).toBeGreaterThanOrEqual(3600);
    expect(second).toBeLessThan(5500);
  } finally {
    wh.close();
    await feed.close();
  }
}, 30_000);
