// `adpipe lake push s3://bucket/prefix`: one push now, the code the lake sink (src/sinks/lake) runs
// after each commit; `adpipe lake prune` deletes old partitions.

import type { Command } from 'commander';
import { s3ClientFromEnv } from '../../lake/object-store.js';
import { pushLake } from '../../lake/push.js';
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
}
