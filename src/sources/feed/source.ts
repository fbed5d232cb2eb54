// An encrypted feed as a source of the runtime (docs/feeds.md): each poll fetches the page at the
// committed cursor; a batch is that page's decrypted records as one NDJSON unit under
// `<data-dir>/tmp`, keyed `feed:<name>@<page URL>`, with the page's next cursor as the batch's
// position, so the cursor is committed in the warehouse transaction that holds the records. Tokens
// that fail (bad MAC, expired, not a literal, …) travel with the unit as pre-rejected records and
// reach the batch's dead letters with their position on the page. Finite (`adpipe feed pull`): pages
// until the feed has no more. With `every`: pulls again on that clock (±10 % jitter), backing off
// exponentially while fetches fail (`adpipe serve`, `feed pull --every`).

import { mkdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AdpipeError } from '../../errors.js';
import { loadMapping, type Mapping } from '../../events/mapping/index.js';
import { componentLogger } from '../../logger.js';
import { INTERVAL_PATTERN, nextWait, parseInterval } from '../../util/every.js';
import type { Source, SourceBatch, SourceContext, Unit } from '../source.js';
import { type FeedOptions, type FeedPage, feedRejected, fetchFeedPage, writeFeedRecords } from './client.js';
import type { FernetKey } from './fernet.js';
import { loadFeedKey } from './key.js';

const log = componentLogger('feed');

export const feedSourceSchema = z
  .object({
    type: z.literal('feed'),
    /** Unique among the sources: the key of its committed cursor. */
    name: z.string().min(1).default('feed'),
    /** The feed's first page; later pulls start from the committed cursor. */
    url: z.string().url(),
    /** The environment variable holding the Fernet key (exactly one of key_env, key_file). */
    key_env: z.string().min(1).optional(),
    /** A file holding the Fernet key. */
    key_file: z.string().min(1).optional(),
    /** Refuse tokens older than this many seconds (Fernet TTL). */
    ttl: z.number().int().positive().optional(),
    /** Pull again this often (`30s`, `5m`, `1h`); unset: pull until the feed has no more, then end. */
    every: z.string().regex(INTERVAL_PATTERN).optional(),
    /** A mapping file (YAML) turning the feed's records into contract events. */
    mapping: z.string().min(1).optional(),
  })
  .strict();

export type FeedSourceConfig = z.infer<typeof feedSourceSchema>;

/** The one stream of a feed's positions: the URL to fetch next. */
const CURSOR = 'cursor';

/** Pages one finite pull fetches at most, so a feed that never says "no more" cannot hold the lock forever. */
const MAX_PAGES = 1000;

interface FeedBatch extends SourceBatch {
  readonly page: FeedPage;
  readonly file: string | undefined;
}

export class FeedSource implements Source<FeedBatch> {
  readonly kind = 'feed';
  /**
   * A page fetched again with other records (a feed without pagination, a last page that grew) is
   * the same key with new content: read it again; the records' ids drop what it repeats.
   */
  readonly reprocess = true;
  readonly finite: boolean;
  readonly mapping: Mapping | undefined;
  private readonly options: FeedOptions;
  private readonly everyMs: number | undefined;
  private ctx: SourceContext | undefined;
  private cursor: string;
  /** The fetched page not yet acknowledged: poll yields it again until then. */
  private pending: FeedBatch | undefined;
  /** Whether the next poll may fetch: the feed said more, or the clock came round. */
  private due = true;
  private pages = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly config: FeedSourceConfig,
    key: FernetKey,
  ) {
    this.options = { key, ttl: config.ttl };
    this.everyMs = config.every === undefined ? undefined : parseInterval(config.every);
    this.finite = this.everyMs === undefined;
    this.mapping = config.mapping === undefined ? undefined : loadMapping(config.mapping);
    this.cursor = config.url;
  }

  /** Reads the key now (env or file): a missing key fails here, before anything is fetched. */
  static async create(config: FeedSourceConfig): Promise<FeedSource> {
    if ((config.key_env === undefined) === (config.key_file === undefined))
      throw new AdpipeError('ADP_ERR_CONFIG', [
        `feed source ${config.name}: give exactly one of key_env or key_file`,
      ]);
    const key = loadFeedKey(
      config.key_env !== undefined ? { env: config.key_env } : { file: config.key_file as string },
    );
    return new FeedSource(config, key);
  }

  get name(): string {
    return this.config.name;
  }

  async open(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    this.cursor = ctx.positions[CURSOR] ?? this.config.url;
    // Pages left by a run that died before their ack: fetched again from the committed cursor.
    rmSync(this.tmpDir(), { recursive: true, force: true });
    mkdirSync(this.tmpDir(), { recursive: true });
  }

  async poll(): Promise<FeedBatch | undefined> {
    if (this.pending) return this.pending;
    if (!this.due || this.stopped || (this.finite && this.pages >= MAX_PAGES)) return undefined;
    let page: FeedPage;
    try {
      page = await fetchFeedPage(this.cursor, this.options);
    } catch (err) {
      if (this.finite) throw err;
      this.failures++;
      log.error({ err, source: this.name, failures: this.failures }, 'feed fetch failed; backing off');
      this.schedule();
      return undefined;
    }
    this.failures = 0;
    this.pages++;
    if (page.lines.length === 0 && page.deadLetters.length === 0) {
      if (page.nextCursor === this.cursor) {
        this.idle();
        return undefined;
      }
      // Nothing to load, but the cursor moved: commit it alone.
      this.pending = { units: [], positions: { [CURSOR]: page.nextCursor }, page, file: undefined };
      return this.pending;
    }
    this.pending = await this.batchOf(page);
    return this.pending;
  }

  /** The page as one unit: its records as NDJSON, its failed tokens pre-rejected at their position. */
  private async batchOf(page: FeedPage): Promise<FeedBatch> {
    const { file, hash, size } = await writeFeedRecords(page, this.tmpDir());
    const unit: Unit = {
      key: `feed:${this.name}@${page.cursor}`,
      size,
      info: { format: 'jsonl', gzip: false },
      rejected: feedRejected(page),
      fetch: async () => ({ localPath: file, hash, release: async () => undefined }),
    };
    return { units: [unit], positions: { [CURSOR]: page.nextCursor }, page, file };
  }

  async ack(batch: FeedBatch): Promise<void> {
    this.pending = undefined;
    this.cursor = batch.page.nextCursor;
    if (batch.file !== undefined) await rm(batch.file, { force: true });
    if (!batch.page.more) this.idle();
  }

  /** Nothing more now: a finite source ends; a continuous one waits for its clock. */
  private idle(): void {
    this.due = false;
    if (!this.finite) this.schedule();
  }

  private schedule(): void {
    this.due = false;
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.due = true;
        this.ctx?.wake();
      },
      nextWait(this.everyMs!, this.failures),
    );
    this.timer.unref();
  }

  /** This source's own temp folder: names are unique in a runtime, so sources never clear each other's. */
  private tmpDir(): string {
    return path.join(this.ctx!.dataDir, 'tmp', `feed-${encodeURIComponent(this.name)}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  async close(): Promise<void> {}
}
