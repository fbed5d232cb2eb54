// A Redis stream read through a consumer group, for the stream source (src/sources/stream/source.ts).
// The warehouse's committed entry id, not the group, says what is loaded: entries at or before it
// are XACKed and never returned. At open, stale pending entries of other consumers after that id
// are claimed; then this consumer's own pending entries are read (from id 0, in id order), then
// new ones (`>`). Claiming only at open keeps the order ascending, so a committed id means "this
// and everything before it that this consumer was given".

import { RESP_TYPES } from 'redis';
import { AdpipeError } from '../../errors.js';
import { componentLogger } from '../../logger.js';
import type { Positions } from '../source.js';
import type { StreamMessage, StreamReader } from '../stream/broker.js';
import { connectRedis, type RedisConnection, type RedisSettings } from './settings.js';

const log = componentLogger('redis');

/** Entry ids and field values as Buffers: no UTF-8 decoding of payloads the loader reads as bytes. */
const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;
/** Ids per XACK. */
const ACK_CHUNK = 10_000;
/** Entries examined per XAUTOCLAIM. */
const CLAIM_COUNT = 10_000;
/** Where the pending entries end and new ones begin. */
const NEW = '>';

/** An XREADGROUP entry: its id and its field/value pairs (null once XDEL or XTRIM removed it). */
type RawEntry = [Buffer, Buffer[] | null];
type RawReply = Array<[Buffer, RawEntry[]]> | null;

export class RedisStreamReader implements StreamReader {
  readonly label: string;
  private readonly field: Buffer;
  /** Commands that answer at once: the group, claims, acks. */
  private commands: RedisConnection | undefined;
  /** The blocking XREADGROUP alone, so acks never queue behind it. */
  private reads: RedisConnection | undefined;
  /** The warehouse's last committed id of the stream, from open. */
  private committed: string | undefined;
  /** The next read's id: after this one among this consumer's pending entries, then NEW. */
  private cursor = '0';
  /** The last entry id read in this run. */
  private last: string | undefined;

  constructor(private readonly settings: RedisSettings) {
    this.label = `redis:${settings.key}`;
    this.field = Buffer.from(settings.field);
  }

  async open(committed: Positions): Promise<void> {
    const s = this.settings;
    this.committed = committed[s.key];
    try {
      this.commands = await connectRedis(s, 'commands');
      this.reads = await connectRedis(s, 'reads');
      await this.createGroup();
      await this.claimStale();
    } catch (err) {
      await this.close().catch(() => undefined);
      throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [s.shown, (err as Error).message], { cause: err });
    }
    this.cursor = '0';
    this.last = undefined;
  }

  /** The group, from the stream's first entry, unless it exists (BUSYGROUP). */
  private async createGroup(): Promise<void> {
    const s = this.settings;
    try {
      await this.commands!.sendCommand(['XGROUP', 'CREATE', s.key, s.group, '0', 'MKSTREAM']);
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
  }

  /**
   * Takes over the pending entries of consumers idle for claim_idle_ms, ids only (the reads fetch
   * them), and only those after the committed id: they cannot have been committed by this source.
   * One at or before it may have been (by this source under another consumer name), or may not (a
   * consumer of the group that fed another source): acknowledging it could lose it, loading it
   * could count it twice, so it is left pending, and said.
   */
  private async claimStale(): Promise<void> {
    const s = this.settings;
    let start = this.committed === undefined ? '0-0' : idAfterOf(this.committed);
    let claimed = 0;
    const gone: string[] = [];
    do {
      const [next, ids, deleted = []] = await this.commands!.sendCommand<[string, string[], string[]?]>([
        'XAUTOCLAIM',
        s.key,
        s.group,
        s.consumer,
        String(s.claimIdleMs),
        start,
        'COUNT',
        String(CLAIM_COUNT),
        'JUSTID',
      ]);
      claimed += ids.length;
      gone.push(...deleted);
      start = next;
    } while (start !== '0-0');
    if (claimed > 0) log.info({ stream: s.key, group: s.group, claimed }, 'claimed stale pending entries');
    // Redis drops pending entries whose data was trimmed away; they cannot be loaded any more.
    if (gone.length > 0)
      log.warn(
        { stream: s.key, ids: gone.slice(0, 100), count: gone.length },
        'pending entries deleted unread',
      );
    if (this.committed !== undefined) await this.warnLeftPending(this.committed);
  }

  /** Says which other consumers hold stale entries at or before the committed id. */
  private async warnLeftPending(committed: string): Promise<void> {
    const s = this.settings;
    const rows = await this.commands!.sendCommand<Array<[string, string, number, number]>>([
      'XPENDING',
      s.key,
      s.group,
      'IDLE',
      String(s.claimIdleMs),
      '-',
      committed,
      String(CLAIM_COUNT),
    ]);
    const others = rows.filter((r) => r[1] !== s.consumer);
    if (others.length > 0)
      log.warn(
        {
          stream: s.key,
          group: s.group,
          consumers: [...new Set(others.map((r) => r[1]))],
          first: others[0]![0],
          count: others.length,
        },
        'stale pending entries of other consumers at or before the committed id are left to them (docs/streams.md)',
      );
  }

  async read(max: number, waitMs: number): Promise<StreamMessage[]> {
    try {
      return await this.readNext(max, waitMs);
    } catch (err) {
      // A reply lost in flight still gave its entries to this consumer: they are among its pending
      // ones, after the last id seen, and the next read takes them from there before new ones.
      this.cursor = this.last ?? '0';
      throw err;
    }
  }

  private async readNext(max: number, waitMs: number): Promise<StreamMessage[]> {
    const s = this.settings;
    for (;;) {
      const pending = this.cursor !== NEW;
      const args = ['XREADGROUP', 'GROUP', s.group, s.consumer, 'COUNT', String(max)];
      // BLOCK means nothing for pending entries: they are there or not.
      if (!pending) args.push('BLOCK', String(waitMs));
      args.push('STREAMS', s.key, this.cursor);
      const reply = await this.reads!.sendCommand<RawReply>(args, { typeMapping: BUFFERS });
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) {
        if (!pending) return [];
        this.cursor = NEW;
        continue;
      }
      this.last = idOf(entries[entries.length - 1]!);
      if (pending) this.cursor = this.last;
      const messages = await this.messagesOf(entries);
      // Only entries already committed came: read on rather than look idle.
      if (messages.length > 0) return messages;
    }
  }

  /** The entries as messages, the committed ones acknowledged instead. */
  private async messagesOf(entries: readonly RawEntry[]): Promise<StreamMessage[]> {
    const committed = this.committed;
    // Ids ascend within a reply: compare each only when the first is not past the committed one.
    const check = committed !== undefined && entries.length > 0 && !idAfter(idOf(entries[0]!), committed);
    const messages: StreamMessage[] = [];
    const done: string[] = [];
    for (const entry of entries) {
      const id = idOf(entry);
      if (check && !idAfter(id, committed)) done.push(id);
      else messages.push(this.messageOf(id, entry[1]));
    }
    // Harmless if it fails: they stay pending and are acknowledged at the next open.
    if (done.length > 0)
      await this.acknowledge(done).catch((err: unknown) =>
        log.warn({ err, stream: this.settings.key }, 'acknowledging committed entries failed'),
      );
    return messages;
  }

  private messageOf(id: string, fields: Buffer[] | null): StreamMessage {
    const key = this.settings.key;
    if (fields !== null)
      for (let i = 0; i < fields.length; i += 2)
        if (sameBytes(this.field, fields[i]!))
          return { stream: key, position: id, next: id, value: fields[i + 1] };
    return {
      stream: key,
      position: id,
      next: id,
      value: undefined,
      missing: fields === null ? 'redis.deleted' : 'redis.no_field',
    };
  }

  async ack(messages: readonly StreamMessage[]): Promise<void> {
    await this.acknowledge(messages.map((m) => m.position));
  }

  private async acknowledge(ids: readonly string[]): Promise<void> {
    const s = this.settings;
    const chunks: Promise<unknown>[] = [];
    for (let i = 0; i < ids.length; i += ACK_CHUNK)
      chunks.push(this.commands!.sendCommand(['XACK', s.key, s.group, ...ids.slice(i, i + ACK_CHUNK)]));
    await Promise.all(chunks);
  }

  async close(): Promise<void> {
    await Promise.all([this.reads, this.commands].map((c) => (c?.isOpen ? c.close() : undefined)));
  }
}

/** Whether two short byte strings are equal: a field name, compared without a native call per entry. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function idOf(entry: RawEntry): string {
  return entry[0].toString('latin1');
}

/** Whether stream id a comes after b: `<ms>-<seq>`, each a decimal number without leading zeros. */
export function idAfter(a: string, b: string): boolean {
  const [aMs = '', aSeq = '0'] = a.split('-');
  const [bMs = '', bSeq = '0'] = b.split('-');
  return (numeric(aMs, bMs) || numeric(aSeq, bSeq)) > 0;
}

/** The first id after this one (XAUTOCLAIM's start is inclusive). */
function idAfterOf(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  const next = BigInt(seq) + 1n;
  return next > MAX_SEQ ? `${BigInt(ms) + 1n}-0` : `${ms}-${next}`;
}

const MAX_SEQ = 2n ** 64n - 1n;

/** Compares decimal strings of any length (ids may exceed 2^53). */
function numeric(x: string, y: string): number {
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
}
