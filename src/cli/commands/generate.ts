import path from 'node:path';
import type { Command } from 'commander';
import { AdpipeError, usage } from '../../errors.js';
import { sendToCollector } from '../../simulator/http-target.js';
import {
  DEFAULTS,
  generate,
  OUTPUT_FORMATS,
  type OutputFormat,
  startEndingNow,
} from '../../simulator/index.js';
import { reshapeFiles, SHAPE_NAMES } from '../../simulator/shapes.js';
import { publishToStream } from '../../simulator/stream-target.js';
import { redact } from '../../sources/stream/brokers.js';
import { intOption } from '../context.js';

function rateOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new AdpipeError('ADP_ERR_BAD_PARAM', [name, `not a number: ${value}`]);
    return n;
  };
}

/** `adpipe generate`: deterministic simulated ad traffic, metadata and a manifest of expected totals. */
export function register(program: Command): void {
  program
    .command('generate')
    .description('Write simulated ad events (DIR/events), metadata CSVs (DIR/metadata) and DIR/manifest.json')
    .option('-o, --out <dir>', 'output directory')
    .option(
      '--to <url>',
      'instead of files, POST the events to a running collector (http://host:port) or publish them to a broker (kafka://host:9092/topic, redis://…, nats://…; docs/streams.md)',
    )
    .option(
      '--rate <eps>',
      'with --to: events per second (default: as fast as the target takes them)',
      rateOption('--rate'),
    )
    .option('--batch <n>', 'with --to: events per request or publish', intOption('--batch'), 500)
    .option('--key <key>', 'with --to http://…: write key')
    .option('-n, --events <n>', 'number of clean events', intOption('--events'), DEFAULTS.events)
    .option(
      '-s, --seed <n>',
      'random seed; the same seed gives the same bytes',
      intOption('--seed'),
      DEFAULTS.seed,
    )
    .option(
      '--start <iso>',
      `start of the time window (ISO-8601 with Z or offset; default ${DEFAULTS.start}, with --to the window ending now)`,
    )
    .option('--hours <n>', 'length of the time window in hours', intOption('--hours'), DEFAULTS.hours)
    .option('--files <n>', 'number of event files (arrival order)', intOption('--files'), DEFAULTS.files)
    .option('--format <format>', `one of ${OUTPUT_FORMATS.join(', ')}`, DEFAULTS.format)
    .option(
      '--shape <name>',
      `events as another system logs them, for mappings (examples/mappings/<name>.yaml): ${SHAPE_NAMES.join(', ')}; JSON lines only`,
      'adpipe',
    )
    .option(
      '--dirty <rate>',
      'rate of duplicates, late, alternative-form and malformed records',
      rateOption('--dirty'),
      0,
    )
    .option('--fraud <share>', 'share of events in fraud click bursts', rateOption('--fraud'), DEFAULTS.fraud)
    .option(
      '--workers <n>',
      'worker threads (default: one per CPU for runs of 1M events or more)',
      intOption('--workers'),
    )
    .action(
      async (opts: {
        out?: string;
        to?: string;
        rate?: number;
        batch: number;
        key?: string;
        events: number;
        seed: number;
        start?: string;
        hours: number;
        files: number;
        format: string;
        shape: string;
        dirty: number;
        fraud: number;
        workers?: number;
      }) => {
        const shaped = opts.shape !== 'adpipe';
        if (shaped && !SHAPE_NAMES.includes(opts.shape as never))
          throw usage(`--shape must be one of ${SHAPE_NAMES.join(', ')}`);
        if (shaped && (opts.to || !['jsonl', DEFAULTS.format].includes(opts.format)))
          throw usage('--shape writes JSON-lines files: it takes neither --to nor another --format');
        if (opts.to) {
          // A live target is sent traffic of the hours just gone, so the dashboard shows it as recent.
          const start = opts.start ?? startEndingNow(opts.hours);
          if (!/^https?:\/\//.test(opts.to)) {
            const r = await publishToStream({ ...opts, start, to: opts.to });
            console.log(
              `published ${r.published} records to ${redact(opts.to)} in ${r.seconds.toFixed(1)} s ` +
                `(${Math.round(r.published / Math.max(r.seconds, 1e-3))} records/s)`,
            );
            return;
          }
          const r = await sendToCollector({ ...opts, start, to: opts.to });
          console.log(
            `sent ${r.sent} records in ${r.requests} requests to ${opts.to} in ${r.seconds.toFixed(1)} s: ` +
              `${r.accepted} accepted, ${r.duplicates} duplicates, ${r.rejected} rejected`,
          );
          return;
        }
        if (!opts.out) throw usage('either --out <dir> or --to <url> is required');
        const started = performance.now();
        const format = (shaped ? 'jsonl' : opts.format) as OutputFormat;
        const manifest = await generate({ ...opts, out: opts.out, format });
        if (shaped) {
          const lines = await reshapeFiles(
            path.join(opts.out, 'events'),
            manifest.files.map((f) => f.name),
            opts.shape,
          );
          console.log(
            `reshaped the events as ${opts.shape} logs them: ${lines} lines (manifest.json counts the contract events)`,
          );
        }
        const seconds = (performance.now() - started) / 1000;
        const records = manifest.files.reduce((a, f) => a + f.records, 0);
        console.log(
          `wrote ${manifest.events} events (${records} records) in ${manifest.files.length} files to ${opts.out} ` +
            `in ${seconds.toFixed(1)} s (${Math.round(manifest.events / seconds)} events/s)`,
        );
      },
    );
}
