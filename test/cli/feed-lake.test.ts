// `adpipe feed pull` (the runtime with a feed source) and `adpipe lake push` from the built bin: a Fernet feed
// pulled twice (the second pull loads nothing new), its dead letters in the store, the key only
// from the environment; the lake pushed to the real S3 server and read back by `adpipe ingest`, then
// pruned with `adpipe lake prune` (dry run first) here and in the configured lake sink's copy.

import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fernetEncrypt, generateFernetKey, parseFernetKey } from '../../src/sources/feed/fernet.js';
import { type FeedServer, startFeedServer } from '../helpers/feed-server.js';
import { useTestBucket } from '../helpers/s3.js';
import { describeWith, s3TestEnv } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

const root = path.resolve('.');
const run = promisify(execFile);
const KEY = generateFernetKey();

async function adpipe(env: Record<string, string>, ...args: string[]) {
  try {
    const r = await run(process.execPath, [path.join(root, 'bin/adpipe.js'), ...args], {
      env: { ...process.env, ADPIPE_LOG_LEVEL: 'warn', ...env },
    });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { status: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const event = (id: number) =>
  `{'type': 'impression', 'ts': '2026-03-01T1${id % 3}:00:00Z', 'media_id': 'm${id % 2}', 'revenue': 0.25}`;

(await describeWith('s3'))('adpipe feed pull and lake push', () => {
  const s3 = useTestBucket('cli');
  let feed: FeedServer;
  beforeAll(async () => {
    spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root]);
    const key = parseFernetKey(KEY);
    const page1 = [0, 1, 2, 3].map((i) => ({ data: fernetEncrypt(event(i), key) }));
    const page2 = [3, 4, 5].map((i) => ({ data: fernetEncrypt(event(i), key) }));
    page2.push({ data: fernetEncrypt('not a literal', key) });
    feed = await startFeedServer({
      pages: (at) =>
        at === '/p1'
          ? { body: JSON.stringify({ items: page1, next: '/p2' }) }
          : at === '/p2'
            ? { body: JSON.stringify({ items: page2 }) }
            : undefined,
    });
  }, 120_000);
  afterAll(async () => {
    await feed?.close();
  });

  it('pulls once, then nothing new; pushes the lake; ingest from S3 gives the same report; prunes it', async () => {
    const dataDir = makeTempDir('cli-feed');
    const pull = (keyEnv: string, env: Record<string, string> = {}) =>
      adpipe(env, '-d', dataDir, 'feed', 'pull', '--url', `${feed.url}/p1`, '--key-env', keyEnv);
    const first = await pull('ADPIPE_TEST_FEED_KEY', { ADPIPE_TEST_FEED_KEY: KEY });
    expect(first.stderr).toBe('');
    // Page 2 repeats event 3 (a duplicate by its content id) and holds a token that is no literal.
    expect(first.stdout).toMatch(
      /^files read 2 \/ skipped 0 \/ set aside 0; events accepted 6 \/ duplicates 1 \/ rejected 1;/,
    );
    expect(first.stdout + first.stderr).not.toContain(KEY);
    const second = await pull('ADPIPE_TEST_FEED_KEY', { ADPIPE_TEST_FEED_KEY: KEY });
    // The committed cursor is page 2 (it has no next link): fetched again, the same page is skipped.
    expect(second.stdout).toMatch(
      /^files read 0 \/ skipped 1 \/ set aside 0; events accepted 0 \/ duplicates 0 \/ rejected 0;/,
    );
    const dead = await adpipe({}, '-d', dataDir, 'deadletter', 'list');
    expect(dead.stdout).toContain('feed.not_literal');

    const noKey = await pull('ADPIPE_NO_SUCH_KEY');
    expect(noKey.stderr).toContain(
      'ADP_ERR_SOURCE_FEED_KEY: feed key unusable: environment variable ADPIPE_NO_SUCH_KEY is not set',
    );

    const url = `s3://${s3.bucket}/lake`;
    const push = await adpipe(s3TestEnv(), '-d', dataDir, 'lake', 'push', url);
    expect(push.stdout).toMatch(
      /^pushed batches 0→\d+: 3 partitions, 5 files uploaded \(\d+ bytes\), 0 deleted/,
    );
    const copy = makeTempDir('cli-from-s3');
    const back = await adpipe(s3TestEnv(), '-d', copy, 'ingest', `${url}/`);
    expect(back.stdout).toContain('events accepted 6 / duplicates 0 / rejected 0');
    const report = (dir: string) =>
      adpipe({}, '-d', dir, 'report', 'ad', '--grain', 'total', '--by', 'media_id', '--format', 'json');
    expect((await report(copy)).stdout).toBe((await report(dataDir)).stdout);

    // Prune everything older than 90 days (the events are of March 2026) here and in the lake sink's
    // copy; the reports stay exact from the rollups and verify still passes.
    const config = path.join(makeTempDir('cli-prune'), 'adpipe.yaml');
    writeFileSync(config, JSON.stringify({ sinks: [{ type: 'lake', url }] }));
    const prune = (...more: string[]) =>
      adpipe(s3TestEnv(), '-c', config, '-d', dataDir, 'lake', 'prune', '--older-than', '90d', ...more);
    const dry = await prune('--dry-run');
    expect(dry.stdout).toMatch(/^would prune 3 partitions older than \S+, kept 0 not yet pushed$/m);
    const done = await prune();
    expect(done.stdout).toMatch(/^pruned dt=2026-03-01\/hour=10: \d+ files, \d+ rows, \d+ S3 objects$/m);
    expect(done.stdout).toMatch(/^pruned 3 partitions older than/m);
    expect((await prune()).stdout).toMatch(/^pruned 0 partitions/m);
    expect((await report(dataDir)).stdout).toBe((await report(copy)).stdout);
    expect((await adpipe({}, '-d', dataDir, 'verify')).status).toBe(0);
  });
});
