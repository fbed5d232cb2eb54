// `adpipe lake push s3://bucket/prefix`: one push now, the code the lake sink (src/sinks/lake) runs
// after each commit; `adpipe lake prune` deletes old partitions.

import type { Command } from 'commander';
import { usage } from '../../errors.js';
import { s3ClientFromEnv } from '../../lake/object-store.js';
import { type PushedCopy, pruneLake } from '../../lake/prune.js';
import { pushLake } from '../../lake/push.js';
import { configuredSinks } from '../../sinks/configured.js';
import type { LakeSinkConfig } from '../../sinks/lake/config.js';
import { parseInterval } from '../../util/every.js';
import { contextOf } from '../context.js';
import { withWriter } from '../writer.js';

export function register(program: Command): void {
  const lake = program.command('lake').description('The Parquet lake on object storage (docs/feeds.md)');
  lake
    .command('push')
    .description("Upload committed lake partitions new since the bucket's watermark, as dt=/hour= Parquet")
    .argument('<url>', 's3://bucket/prefix; endpoint, region and credentials from the AWS variables')
    .action(async (url: string, _opts: unknown, cmd: Command) => {
      const client = s3ClientFromEnv();
      try {
        const r = await withWriter(contextOf(cmd).dataDir, (wh) => pushLake(wh, url, client));
        console.log(
          `pushed batches ${r.from}→${r.to}: ${r.partitions} partitions, ${r.uploaded} files uploaded (${r.bytes} bytes), ${r.deleted} deleted`,
        );
      } finally {
        client.destroy();
      }
    });
  lake
    .command('prune')
    .description(
      "Delete lake partitions whose hour is older than the cutoff, locally and in the lake sinks' S3 copies; rollups keep their rows",
    )
    .requiredOption('--older-than <age>', 'the cutoff as an age: 90d, 36h', (v: string) => {
      try {
        return parseInterval(v);
      } catch {
        throw usage(`--older-than takes a number and s, m, h or d (e.g. 90d), got ${v}`);
      }
    })
    .option('--dry-run', 'say what would be deleted and delete nothing', false)
    .action(async (opts: { olderThan: number; dryRun: boolean }, cmd: Command) => {
      const { config, dataDir } = contextOf(cmd);
      const copies: PushedCopy[] = configuredSinks(config)
        .filter((s) => s.config.type === 'lake')
        .map((s) => ({ sink: s.name, url: (s.config as LakeSinkConfig).url }));
      const client = copies.length > 0 ? s3ClientFromEnv() : undefined;
      try {
        const r = await withWriter(dataDir, (wh) =>
          pruneLake(wh, opts.olderThan, { copies, client, dryRun: opts.dryRun }),
        );
        const verb = opts.dryRun ? 'would prune' : 'pruned';
        for (const p of r.pruned)
          console.log(
            `${verb} dt=${p.dt}/hour=${p.hour}: ${p.files} files, ${p.rows} rows, ${p.objects} S3 objects`,
          );
        for (const p of r.skipped) console.log(`kept dt=${p.dt}/hour=${p.hour}: ${p.reason}`);
        console.log(
          `${verb} ${r.pruned.length} partitions older than ${r.cutoff}, kept ${r.skipped.length} not yet pushed`,
        );
      } finally {
        client?.destroy();
      }
    });
}
