// A message stream (a Kafka topic's partitions, a Redis stream, a JetStream subject) as a source of
// the runtime. A background loop reads messages from the broker's reader into a bounded buffer; a
// batch is cut when it holds `batch_events` messages or its oldest is `batch_ms` old (a trickle
// stays fresh, a flood loads in big batches). A batch is one NDJSON unit per stream range under
// `<data-dir>/tmp/stream-<name>/`, keyed `<label>/<stream>@<first>-<last>`, with each stream's next
// position, which the loader commits in the batch's transaction; only then is the broker told.
// Messages the loader cannot take are dead-lettered under their own address
// (`kafka:ads/2@1034`); messages that are no text at all never reach the file.

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadMapping, type Mapping } from '../../events/mapping/index.js';
import { componentLogger } from '../../logger.js';
import type { Positions, PreRejected, Source, SourceBatch, SourceContext, Unit } from '../source.js';
import type { StreamMessage, StreamReader } from './broker.js';

const log = componentLogger('stream');

export interface StreamSourceOptions {
  /** Unique in a runtime: the key of its positions. */
  name: string;
  /** Cut a batch at this many messages… */
  batchEvents: number;
  /** …or when its oldest message has waited this long. */
  batchMs: number;
  /** End (a finite source) once no message has come for this long; unset: run until stopped. */
  untilIdleMs?: number;
  /** A mapping file (YAML) turning the stream's records into contract events. */
  mapping?: string;
}

interface StreamBatch extends SourceBatch {
  readonly messages: readonly StreamMessage[];
  readonly files: readonly string[];
}

/** Messages read ahead at most, as a multiple of batch_events: the next batch fills while one loads. */
const READ_AHEAD = 2;
/** Longest single broker read, so stop() and the batch clock are seen promptly. */
const READ_WAIT_MS = 200;
/** Messages per unit at most: a batch of one stream still gives the loader files to read in parallel. */
const UNIT_MESSAGES = 25_000;
/** Messages asked for per read. */
const READ_MAX = 10_000;

export class StreamSource implements Source<StreamBatch> {
  readonly finite: boolean;
  readonly mapping: Mapping | undefined;
  readonly retry = { baseMs: 500, maxMs: 30_000 };
  private ctx: SourceContext | undefined;
  private buffer: StreamMessage[] = [];
  /** When the oldest buffered message arrived (ms, performance.now()). */
  private oldestAt = 0;
  private lastMessageAt = 0;
  /** The last read found nothing new: a finite run loads what it holds without waiting for batch_ms. */
  private caughtUp = false;
  private pending: StreamBatch | undefined;
  /** The batch after pending, being written while pending loads. */
  private ahead: Promise<StreamBatch> | undefined;
  private stopped = false;
  private readLoop: Promise<void> | undefined;
  private readError: unknown;
  private timer: NodeJS.Timeout | undefined;
  /** Resolves a finite poll that waits for a batch to fill. */
  private waiter: (() => void) | undefined;
  private seq = 0;

  constructor(
    readonly kind: string,
    private readonly reader: StreamReader,
    private readonly options: StreamSourceOptions,
  ) {
    this.finite = options.untilIdleMs !== undefined;
    this.mapping = options.mapping === undefined ? undefined : loadMapping(options.mapping);
  }

  get name(): string {
    return this.options.name;
  }

  async open(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    // Ranges written by a run that died before their ack: read again after the committed positions.
    rmSync(this.tmpDir(), { recursive: true, force: true });
    mkdirSync(this.tmpDir(), { recursive: true });
    await this.reader.open(ctx.positions);
    this.lastMessageAt = performance.now();
    this.readLoop = this.readForever();
  }

  /** Fills the buffer up to its bound; wakes the runtime when a batch is due. */
  private async readForever(): Promise<void> {
    const cap = this.options.batchEvents * READ_AHEAD;
    while (!this.stopped) {
      const room = cap - this.buffer.length - (this.ahead ? this.options.batchEvents : 0);
      if (room <= 0) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      let messages: StreamMessage[];
      try {
        messages = await this.reader.read(Math.min(room, READ_MAX), READ_WAIT_MS);
      } catch (err) {
        // The reader's own client reconnects; a finite run fails, a continuous one retries.
        if (this.finite) {
          this.readError = err;
          this.notify();
          return;
        }
        log.error({ err, source: this.name }, 'stream read failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      const now = performance.now();
      this.caughtUp = messages.length === 0;
      if (messages.length > 0) {
        if (this.buffer.length === 0) {
          this.oldestAt = now;
          this.arm();
        }
        for (const m of messages) this.buffer.push(m);
        this.lastMessageAt = now;
        // A batch is loading and the next is full: write its files meanwhile.
        if (this.pending && !this.ahead) this.prepareAhead();
      }
      if (this.due() || this.idle(now)) this.notify();
    }
  }

  /** Wakes the runtime when the oldest buffered message reaches batch_ms. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.notify(), this.options.batchMs);
    this.timer.unref();
  }

  private notify(): void {
    this.ctx?.wake();
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Whether the buffer makes a batch now. */
  private due(): boolean {
    if (this.buffer.length === 0) return false;
    return (
      this.stopped ||
      (this.finite && this.caughtUp) ||
      this.buffer.length >= this.options.batchEvents ||
      performance.now() - this.oldestAt >= this.options.batchMs
    );
  }

  private idle(now: number): boolean {
    return this.finite && this.buffer.length === 0 && now - this.lastMessageAt >= this.options.untilIdleMs!;
  }

  async poll(): Promise<StreamBatch | undefined> {
    if (this.pending) return this.pending;
    if (this.ahead) {
      this.pending = await this.ahead;
      this.ahead = undefined;
      this.prepareAhead();
      return this.pending;
    }
    // A finite run waits here for a batch (or its idle end); a continuous one is woken instead.
    while (this.finite && !this.due() && !this.idle(performance.now()) && !this.readError && !this.stopped)
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, READ_WAIT_MS).unref();
      });
    if (this.readError) throw this.readError;
    if (!this.due()) return undefined;
    this.pending = await this.batchOf(this.cut());
    this.prepareAhead();
    return this.pending;
  }

  /** The oldest batch_events buffered messages, leaving the rest on the batch clock. */
  private cut(): StreamMessage[] {
    const messages = this.buffer.splice(0, this.options.batchEvents);
    if (this.buffer.length > 0) {
      this.oldestAt = performance.now();
      this.arm();
    }
    return messages;
  }

  /**
   * In a flood the next batch is already full: its files are written while this one loads (the
   * loader is DuckDB's work, writing and hashing is this thread's), and poll hands it over at once.
   */
  private prepareAhead(): void {
    if (this.buffer.length < this.options.batchEvents) return;
    this.ahead = this.batchOf(this.cut());
    this.ahead.catch(() => undefined);
  }

  /** Units per stream range (in message order, UNIT_MESSAGES at most each), and each stream's next position. */
  private async batchOf(messages: readonly StreamMessage[]): Promise<StreamBatch> {
    const byStream = new Map<string, StreamMessage[]>();
    for (const m of messages) {
      const list = byStream.get(m.stream);
      if (list) list.push(m);
      else byStream.set(m.stream, [m]);
    }
    const units: Unit[] = [];
    const files: string[] = [];
    const positions: Positions = {};
    for (const [stream, list] of byStream) {
      // A long range is several units, which DuckDB reads in parallel (one Redis stream, one subject).
      for (let at = 0; at < list.length; at += UNIT_MESSAGES) {
        const unit = await this.unitOf(stream, list.slice(at, at + UNIT_MESSAGES));
        units.push(unit.unit);
        files.push(unit.file);
      }
      positions[stream] = list[list.length - 1]!.next;
    }
    return { units, positions, messages, files };
  }

  private async unitOf(
    stream: string,
    list: readonly StreamMessage[],
  ): Promise<{ unit: Unit; file: string }> {
    const at = (m: StreamMessage) => `${this.reader.label}/${stream}@${m.position}`;
    const chunks: Buffer[] = [];
    const rejected: PreRejected[] = [];
    // The first line of each written message, and its message, for locate (ascending).
    const firstLines: number[] = [];
    const located: StreamMessage[] = [];
    let line = 1;
    for (const m of list) {
      const reason = problemOf(m);
      if (reason) {
        rejected.push({ line: 1, source: at(m), ...reason });
        continue;
      }
      const lines = linesOf(m.value!);
      if (lines.count === 0) {
        rejected.push({
          line: 1,
          source: at(m),
          code: 'stream.empty',
          field: 'message',
          message: 'message: no record in it',
        });
        continue;
      }
      firstLines.push(line);
      located.push(m);
      chunks.push(lines.text);
      if (lines.newline) chunks.push(NEWLINE);
      line += lines.count;
    }
    const data = Buffer.concat(chunks);
    const first = list[0]!.position;
    const last = list[list.length - 1]!.position;
    const file = path.join(this.tmpDir(), `${this.seq++}-${encodeURIComponent(stream)}.ndjson`);
    await writeFile(file, data);
    const hash = createHash('sha256').update(data).digest('hex');
    const unit: Unit = {
      key: `${this.reader.label}/${stream}@${first}-${last}`,
      size: data.length,
      info: { format: 'jsonl', gzip: false },
      rejected,
      locate: (l) => {
        // The last message starting at or before line l.
        let lo = 0;
        let hi = firstLines.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (firstLines[mid]! <= l) lo = mid;
          else hi = mid - 1;
        }
        return { source: at(located[lo]!), line: l - firstLines[lo]! + 1 };
      },
      fetch: async () => ({ localPath: file, hash, release: async () => undefined }),
    };
    return { unit, file };
  }

  async ack(batch: StreamBatch): Promise<void> {
    this.pending = undefined;
    try {
      await this.reader.ack(batch.messages, batch.positions ?? {});
    } catch (err) {
      // The warehouse holds the positions: the broker is only behind, a restart reads after them.
      log.warn({ err, source: this.name }, 'broker acknowledgement failed');
    }
    await Promise.all(batch.files.map((f) => rm(f, { force: true })));
    if (this.due()) this.notify();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.readLoop;
    this.notify();
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.readLoop;
    await this.reader.close();
  }

  /** This source's own temp folder: names are unique in a runtime. */
  private tmpDir(): string {
    return path.join(this.ctx!.dataDir, 'tmp', `stream-${encodeURIComponent(this.name)}`);
  }
}

/** Why a message cannot be written as lines at all, or undefined. */
function problemOf(m: StreamMessage): Omit<PreRejected, 'line' | 'source'> | undefined {
  if (m.value === undefined)
    return { code: m.missing ?? 'stream.empty', field: 'message', message: 'message: no payload' };
  if (!isUtf8(m.value))
    return { code: 'stream.not_utf8', field: 'message', message: 'message: not UTF-8 text' };
  return undefined;
}

/**
 * The message as lines ending in a newline, and how many. A one-line message (the common case) is
 * written as it is; NDJSON of several loses its blank lines, which the loader would not count.
 */
function linesOf(value: Buffer): { text: Buffer; count: number; newline?: boolean } {
  const inner = value.indexOf(10);
  if (inner === -1 || inner === value.length - 1) {
    if (blank(value)) return { text: Buffer.alloc(0), count: 0 };
    return { text: value, count: 1, newline: inner === -1 };
  }
  const lines = value
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return { text: Buffer.from(lines.length ? `${lines.join('\n')}\n` : ''), count: lines.length };
}

const NEWLINE = Buffer.from('\n');

/** Only whitespace (a JSON event's first byte is not, so this stops at once). */
function blank(value: Buffer): boolean {
  for (const b of value) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  return true;
}
