// `adpipe feed pull`: the runtime with one feed source (src/sources/feed/source.ts), under the run
// lock. Once: pages from the committed cursor until the feed has no more. With --every: a
// continuous source pulling on that clock (jitter, backoff on failures) until SIGINT/SIGTERM.

import type { Command } from 'commander';
import { usage } from '../../errors.js';
import { Runtime } from '../../runtime/runtime.js';
import { FeedSource } from '../../sources/feed/source.js';
import { contextOf, intervalOption, intOption } from '../context.js';
import { withWriter } from '../writer.js';
import { summaryLine } from './ingest.js';

interface PullOpts {
  url: string;
  name: string;
  keyEnv?: string;
  keyFile?: string;
  ttl?: number;
  every?: string;
  mapping?: string;
}

export function register(program: Command): void {
  const feed = program
    .command('feed')
    .description('Encrypted log feeds (Fernet), as in seed 003 (docs/feeds.md)');
  feed
    .command('pull')
    .description('Pull a Fernet-encrypted feed from its committed cursor and load its records exactly once')
    .requiredOption('--url <url>', 'the feed URL (first page; later pulls start from the committed cursor)')
    .option('--name <name>', 'the source name its cursor is committed under', 'feed')
    .option('--key-env <name>', 'environment variable holding the Fernet key')
    .option('--key-file <file>', 'file holding the Fernet key')
    .option('--ttl <seconds>', 'refuse tokens older than this (Fernet TTL)', intOption('--ttl'))
    .option(
      '--every <interval>',
      'pull again every interval (30s, 5m, 1h), with jitter and backoff',
      intervalOption('--every', '5m'),
    )
    .option('--mapping <file>', "a mapping file turning the feed's records into contract events")
    .action(async (opts: PullOpts, cmd: Command) => {
      if ((opts.keyEnv === undefined) === (opts.keyFile === undefined)) {
        throw usage(
          'give the key with exactly one of --key-env NAME or --key-file FILE (never on the command line)',
        );
      }
      const source = await FeedSource.create({
        type: 'feed',
        name: opts.name,
        url: opts.url,
        key_env: opts.keyEnv,
        key_file: opts.keyFile,
        ttl: opts.ttl,
        every: opts.every,
        mapping: opts.mapping,
      });
      const { dataDir } = contextOf(cmd);
      await withWriter(dataDir, async (wh) => {
        const runtime = await Runtime.open(wh);
        try {
          if (source.finite) {
            console.log(summaryLine(await runtime.run(source)));
            return;
          }
          await runtime.start(source);
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
        } finally {
          await runtime.close();
        }
      });
    });
}
