// `adpipe stream --from URL [--from URL…]`: the runtime with one stream source per URL (Kafka, Redis
// Streams, NATS JetStream; src/sources/stream/), under the run lock, syncing the configured sinks
// after commits, until SIGINT/SIGTERM (or, with --until-idle, once nothing has come for that long).

import type { Command } from 'commander';
import { usage } from '../../errors.js';
import { Runtime } from '../../runtime/runtime.js';
import { startSinkSubscribers } from '../../sinks/subscriber.js';
import { createStreamSource, type StreamSourceConfig } from '../../sources/stream/config.js';
import { contextOf, intervalOption, intOption } from '../context.js';
import { withWriter } from '../writer.js';
import { summaryLine } from './ingest.js';

interface StreamOpts {
  from: string[];
  name?: string;
  batchEvents: number;
  batchMs: number;
  mapping?: string;
  untilIdle?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  program
    .command('stream')
    .description('Load Kafka, Redis Streams or NATS JetStream messages exactly once (docs/streams.md)')
    .requiredOption(
      '--from <url>',
      'kafka://host:9092/topic[?partitions=0,1], redis://host:6379/stream?group=g, nats://host:4222/subject?durable=d (repeatable)',
      collect,
    )
    .option('--name <name>', 'the source name its positions are committed under (one --from only)')
    .option('--batch-events <n>', 'cut a batch at this many messages', intOption('--batch-events'), 250_000)
    .option(
      '--batch-ms <ms>',
      '…or when its oldest message has waited this long',
      intOption('--batch-ms'),
      1000,
    )
    .option('--mapping <file>', "a mapping file turning the stream's records into contract events")
    .option(
      '--until-idle <interval>',
      'end once no message has come for this long (5s); default: run until stopped',
      intervalOption('--until-idle', '5s'),
    )
    .action(async (opts: StreamOpts, cmd: Command) => {
      if (opts.name !== undefined && opts.from.length > 1)
        throw usage('--name names one source: give one --from');
      const configs: StreamSourceConfig[] = opts.from.map((url) => ({
        type: url.slice(0, url.indexOf('://')),
        url,
        name: opts.name,
        batch_events: opts.batchEvents,
        batch_ms: opts.batchMs,
        mapping: opts.mapping,
        until_idle: opts.untilIdle,
      }));
      const sources = configs.map((c) => createStreamSource(c));
      const { config, dataDir } = contextOf(cmd);
      await withWriter(dataDir, async (wh) => {
        const sinks = await startSinkSubscribers(config, wh, { closeTimeoutMs: 3_600_000 });
        const runtime = await Runtime.open(wh, sinks);
        try {
          if (opts.untilIdle !== undefined) {
            // Each to its idle end, one after the other: loads are serial in a runtime anyway.
            for (const source of sources) console.log(summaryLine(await runtime.run(source)));
            return;
          }
          for (const source of sources) await runtime.start(source);
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
