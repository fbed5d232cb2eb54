// A message stream (a Kafka topic's partitions, a Redis stream, a JetStream subject) as a source of
// the runtime. A background loop reads messages from the broker's reader and writes them as they
// come: each stream's messages fill a unit (UNIT_MESSAGES at most, or batch_events), which is written
// as one NDJSON file under `<data-dir>/tmp/stream-<name>/`, keyed `<label>/<stream>@<first>-<last>`,
// once full. A batch is cut when the buffered messages reach `batch_events` or the oldest is
// `batch_ms` old (a trickle stays fresh, a flood loads in big batches): the oldest written units,
// the units still filling written first when needed. Each stream's next position goes with the
// batch, which the loader commits in its transaction; only then is the broker told, while the next
// batch loads.
// Messages the loader cannot take are dead-lettered under their own address (`kafka:ads/2@1034`);
// messages that are no text at all never reach the file.

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
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

/** A stream range made a unit: its file is written once, before a batch takes it. */
interface RangeUnit {
  readonly unit: Unit;
  readonly file: string;
  readonly stream: string;
  readonly messages: StreamMessage[];
  /** The file's bytes until written (then dropped, with the messages' payloads). */
  data: Buffer[] | undefined;
  writing: Promise<void> | undefined;
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
  /** Per stream, its unit being filled: the messages, and when the first arrived (performance.now()). */
  private filling = new Map<string, { messages: StreamMessage[]; since: number }>();
  /** Full units, oldest first, written or being written. */
  private sealed: RangeUnit[] = [];
  /** Messages buffered: in sealed and filling units, not yet in a batch. */
  private buffered = 0;
  /** Messages in sealed units. */
  private sealedCount = 0;
  /** When the oldest buffered message arrived (ms, performance.now()). */
  private oldestAt = 0;
  private lastMessageAt = 0;
  /** The last read found nothing new: a finite run loads what it holds without waiting for batch_ms. */
  private caughtUp = false;
  private pending: StreamBatch | undefined;
  /** Broker acknowledgements, in commit order, each after the one before. */
  private acking: Promise<void> = Promise.resolve();
  private stopped = false;
  private readLoop: Promise<void> | undefined;
  private readError: unknown;
  private timer: NodeJS.Timeout | undefined;
  /** Resolves a finite poll that waits for a batch to fill. */
  private waiter: (() => void) | undefined;
  private seq = 0;
  private readonly unitMessages: number;

  constructor(
    readonly kind: string,
    private readonly reader: StreamReader,
    private readonly options: StreamSourceOptions,
  ) {
    this.finite = options.untilIdleMs !== undefined;
    this.mapping = options.mapping === undefined ? undefined : loadMapping(options.mapping);
    this.unitMessages = Math.min(UNIT_MESSAGES, options.batchEvents);
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

  /** Fills units up to the read-ahead bound; wakes the runtime when a batch is due. */
  private async readForever(): Promise<void> {
    const cap = this.options.batchEvents * READ_AHEAD;
    while (!this.stopped) {
      const room = cap - this.buffered;
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
        if (this.buffered === 0) {
          this.oldestAt = now;
          this.arm();
        }
        this.add(messages, now);
        this.lastMessageAt = now;
      }
      if (this.due() || this.idle(now)) this.notify();
    }
  }

  /** Appends messages that arrived at `now` to their streams' filling units, sealing each that fills. */
  private add(messages: readonly StreamMessage[], now: number): void {
    for (const m of messages) {
      let unit = this.filling.get(m.stream);
      if (!unit) {
        unit = { messages: [], since: now };
        this.filling.set(m.stream, unit);
      }
      unit.messages.push(m);
      if (unit.messages.length === this.unitMessages) this.seal(m.stream, unit.messages);
    }
    this.buffered += messages.length;
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
    if (this.buffered === 0) return false;
    return (
      this.stopped ||
      (this.finite && this.caughtUp) ||
      this.buffered >= this.options.batchEvents ||
      performance.now() - this.oldestAt >= this.options.batchMs
    );
  }

  private idle(now: number): boolean {
    return this.finite && this.buffered === 0 && now - this.lastMessageAt >= this.options.untilIdleMs!;
  }

  async poll(): Promise<StreamBatch | undefined> {
    if (this.pending) return this.pending;
    // A finite run waits here for a batch (or its idle end); a continuous one is woken instead.
    while (this.finite && !this.due() && !this.idle(performance.now()) && !this.readError && !this.stopped)
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, READ_WAIT_MS).unref();
      });
    if (this.readError) throw this.readError;
    if (!this.due()) return undefined;
    const taken = this.oldest();
    // A failed write leaves the units queued: the next poll writes them again, nothing is skipped.
    await Promise.all(taken.map((u) => this.write(u)));
    this.sealed.splice(0, taken.length);
    const batch = batchOf(taken);
    this.sealedCount -= batch.messages.length;
    this.buffered -= batch.messages.length;
    if (this.buffered > 0) {
      this.oldestAt = performance.now();
      this.arm();
    }
    this.pending = batch;
    return batch;
  }

  /**
   * The oldest units holding batch_events messages at most (one at least), sealing the filling ones
   * first when the full ones hold fewer (a batch cut by its age, or a flood over several streams).
   * A filling unit that has waited batch_ms is sealed anyway, behind the full ones: else a quiet
   * partition beside a busy one would wait as long as the busy one keeps full units queued.
   */
  private oldest(): RangeUnit[] {
    const all = this.sealedCount < this.options.batchEvents;
    const aged = performance.now() - this.options.batchMs;
    for (const [stream, { messages, since }] of this.filling)
      if (all || since <= aged) this.seal(stream, messages);
    const taken: RangeUnit[] = [];
    let count = 0;
    for (const u of this.sealed) {
      if (taken.length > 0 && count + u.messages.length > this.options.batchEvents) break;
      taken.push(u);
      count += u.messages.length;
    }
    return taken;
  }

  /** Makes a stream's filling unit a unit and starts writing its file. */
  private seal(stream: string, list: StreamMessage[]): void {
    this.filling.delete(stream);
    const range = this.rangeOf(stream, list);
    this.sealed.push(range);
    this.sealedCount += list.length;
    this.write(range).catch(() => undefined); // a failure is the poll's to report
  }

  /** Writes a unit's file once (again after a failure), then lets go of its bytes. */
  private write(u: RangeUnit): Promise<void> {
    if (u.data === undefined) return Promise.resolve();
    u.writing ??= writeChunks(u.file, u.data, u.unit.size).then(
      () => {
        u.data = undefined;
        // The payloads are in the file: only the positions are needed from here on (dead letters, acks).
        for (const m of u.messages) m.value = undefined;
      },
      (err: unknown) => {
        u.writing = undefined;
        throw err;
      },
    );
    return u.writing;
  }

  private rangeOf(stream: string, list: StreamMessage[]): RangeUnit {
    const chunks: Buffer[] = [];
    const rejected: PreRejected[] = [];
    // The first line of each written message, and its position, for locate (ascending).
    const firstLines: number[] = [];
    const located: string[] = [];
    const at = (position: string) => `${this.reader.label}/${stream}@${position}`;
    let line = 1;
    let size = 0;
    for (const m of list) {
      const reason = problemOf(m);
      if (reason) {
        // A position without a message is no line and no mistake: only its next is committed.
        if (!m.positionOnly) rejected.push({ line: 1, source: at(m.position), ...reason });
        continue;
      }
      const lines = linesOf(m.value!);
      if (lines.count === 0) {
        rejected.push({
          line: 1,
          source: at(m.position),
          code: 'stream.empty',
          field: 'message',
          message: 'message: no record in it',
        });
        continue;
      }
      firstLines.push(line);
      located.push(m.position);
      chunks.push(lines.text);
      size += lines.text.length;
      if (lines.newline) {
        chunks.push(NEWLINE);
        size++;
      }
      line += lines.count;
    }
    const first = list[0]!.position;
    const last = list[list.length - 1]!.position;
    const key = `${this.reader.label}/${stream}@${first}-${last}`;
    const file = path.join(this.tmpDir(), `${this.seq++}-${encodeURIComponent(stream)}.ndjson`);
    // A range of an append-only log is the same messages whenever read, and its positions are
    // committed with it, so it is never read twice: its key, not 10 MB of text, is what to hash.
    const hash = createHash('sha256')
      .update(`${key}\n${size}\n${line - 1}`)
      .digest('hex');
    const unit: Unit = {
      key,
      size,
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
    return { unit, file, stream, messages: list, data: chunks, writing: undefined };
  }

  /** Tells the broker after the commit, in the background: the next batch loads meanwhile. */
  async ack(batch: StreamBatch): Promise<void> {
    this.pending = undefined;
    this.acking = this.acking.then(async () => {
      try {
        await this.reader.ack(batch.messages, batch.positions ?? {});
      } catch (err) {
        // The warehouse holds the positions: the broker is only behind, a restart reads after them.
        log.warn({ err, source: this.name }, 'broker acknowledgement failed');
      }
      await Promise.all(batch.files.map((f) => rm(f, { force: true })));
    });
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
    await this.acking;
    await this.reader.close();
  }

  /** This source's own temp folder: names are unique in a runtime. */
  private tmpDir(): string {
    return path.join(this.ctx!.dataDir, 'tmp', `stream-${encodeURIComponent(this.name)}`);
  }
}

/** Units (in order within each stream) as a batch, with each stream's next position. */
function batchOf(taken: readonly RangeUnit[]): StreamBatch {
  const positions: Positions = {};
  const messages: StreamMessage[] = [];
  for (const u of taken) {
    positions[u.stream] = u.messages[u.messages.length - 1]!.next;
    for (const m of u.messages) messages.push(m);
  }
  return { units: taken.map((u) => u.unit), positions, messages, files: taken.map((u) => u.file) };
}

/** Writes the chunks as one file without joining them first. */
async function writeChunks(file: string, chunks: readonly Buffer[], size: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const { bytesWritten } = await handle.writev(chunks as Buffer[]);
    if (bytesWritten !== size) throw new Error(`${file}: wrote ${bytesWritten} of ${size} bytes`);
  } finally {
    await handle.close();
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
