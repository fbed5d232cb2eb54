// The lake's copy on S3 as a sink (`type: lake` in `sinks:`): each sync pushes the committed
// partitions new since the bucket's watermark (src/lake/push.ts), so `adpipe serve` and
// `adpipe ingest` keep the copy current after each commit and `adpipe sink status|sync` work for it.
// The watermark stays in the bucket: the copy carries its own progress, whoever pushed it.

import { parseS3Url, s3ClientFromEnv } from '../../lake/object-store.js';
import { pushLake, readWatermark } from '../../lake/push.js';
import type { PartSync, Sink, SinkContext, SinkStatus } from '../sink.js';
import type { LakeSinkConfig } from './config.js';

/** The one part of a lake sink: the partitions under its URL. */
const PART = 'partitions';

export class LakeSink implements Sink {
  readonly type = 'lake';
  private readonly client = s3ClientFromEnv();

  constructor(
    readonly config: LakeSinkConfig,
    private readonly ctx: SinkContext,
  ) {}

  get name(): string {
    return this.ctx.name;
  }

  async status(): Promise<SinkStatus> {
    const watermark = await readWatermark(this.client, parseS3Url(this.config.url), {});
    return { watermark, parts: [{ name: PART, watermark }] };
  }

  async sync(upTo: number): Promise<PartSync[]> {
    const started = process.hrtime.bigint();
    const r = await pushLake(this.ctx.warehouse, this.config.url, this.client, { upTo });
    if (r.to === r.from) return [];
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return [{ sink: this.name, table: PART, after: r.from, upTo: r.to, rows: r.uploaded, seconds }];
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
