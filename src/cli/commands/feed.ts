// `adpipe feed pull` (provisional, see src/sources/feed/pull.ts): once, or every --every with
// jitter and exponential backoff on failures (src/util/every.ts), taking the run lock for each pull only.

import type { Command } from 'commander';
import { usage } from '../../errors.js';
import { componentLogger } from '../../logger.js';
import { loadFeedKey } from '../../sources/feed/key.js';
import { pullFeed } from '../../sources/feed/pull.js';
import { runEvery } from '../../util/every.js';
import { contextOf, intOption } from '../context.js';
import { withWriter } from '../writer.js';

const log = componentLogger('feed');

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/** `30s`, `5m`, `1h` → milliseconds. */
function interval(value: string): number {
  const m = /^(\d+)([smh])$/.exec(value);
  if (m === null) throw new Error(`--every takes a number and s, m or h (e.g. 5m), got ${value}`);
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

interface PullOpts {
  url: string;
  keyEnv?: string;
  keyFile?: string;
  ttl?: number;
  every?: number;
}

export function register(program: Command): void {
  const feed = program
    .command('feed')
    .description('Encrypted log feeds (Fernet), as in seed 003 (docs/feeds.md)');
  feed
    .command('pull')
    .description(
      'Pull a Fernet-encrypted feed from its stored cursor and ingest its records exactly once (provisional)',
    )
    .requiredOption('--url <url>', 'the feed URL (first page; later pulls start from the stored cursor)')
    .option('--key-env <name>', 'environment variable holding the Fernet key')
    .option('--key-file <file>', 'file holding the Fernet key')
    .option('--ttl <seconds>', 'refuse tokens older than this (Fernet TTL)', intOption('--ttl'))
    .option(
      '--every <interval>',
      'pull again every interval (30s, 5m, 1h), with jitter and backoff',
      interval,
    )
    .action(async (opts: PullOpts, cmd: Command) => {
      if ((opts.keyEnv === undefined) === (opts.keyFile === undefined)) {
        throw usage(
          'give the key with exactly one of --key-env NAME or --key-file FILE (never on the command line)',
        );
      }
      const key = loadFeedKey(
        opts.keyEnv !== undefined ? { env: opts.keyEnv } : { file: opts.keyFile as string },
      );
      const { dataDir } = contextOf(cmd);
      const once = async () => {
        const r = await withWriter(dataDir, (wh) => pullFeed(wh, opts.url, { key, ttl: opts.ttl }));
        console.log(
          `pages ${r.pages}; events accepted ${r.accepted} / duplicates ${r.duplicates} / rejected ${r.rejected}; dead letters ${r.deadLetters}`,
        );
      };
      if (opts.every === undefined) return once();
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await runEvery(opts.every, once, {
        signal: stop.signal,
        onError: (err, failures) => log.error({ err: (err as Error).message, failures }, 'feed pull failed'),
      });
    });
}
