// The write-ahead spool: <data-dir>/spool/seg-<ms>-<pid>-<seq>.ndjson, append-only NDJSON of
// normalised events. The collector acknowledges a request only after its lines are fsynced here.
// The open segment is sealed by size, by event count or by the source's clock; sealed segments are
// immutable units that the runtime loads like any file (the ledger makes that exactly once) and the
// source's ack then deletes. On startup every segment left over is sealed; a torn last line (a
// write that was never acknowledged) is cut off.

import { readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { GroupCommitFile, syncDir, syncDirAsync } from './group-commit.js';

/** Sealed at this size so a drain reads bounded files. */
const SEGMENT_MAX_BYTES = 32 * 1024 * 1024;

export interface Segment {
  file: string;
  /** Wall-clock ms at creation (from the name): the age of its oldest event. */
  createdMs: number;
  events: number;
  bytes: number;
}

const NAME = /^seg-(\d{13})-\d+-\d+\.ndjson$/;

export interface SpoolOptions {
  /** Seal the open segment once it holds this many events. */
  segmentEvents: number;
  onFsync?: (seconds: number) => void;
  /** Called when a segment is sealed by size or count, so the runtime can load it at once. */
  onSealed?: () => void;
}

export class Spool {
  private readonly sealed: Segment[] = [];
  private active: { seg: Segment; file: GroupCommitFile } | undefined;
  /** Sealed segments whose last writes are still in flight. */
  private readonly closing = new Set<{ seg: Segment; file: GroupCommitFile }>();
  private opening: Promise<{ seg: Segment; file: GroupCommitFile }> | undefined;
  private seq = 0;
  /** Events and bytes in every segment not yet removed (kept as sums: depth() runs per request). */
  private events = 0;
  private bytes = 0;

  private constructor(
    readonly dir: string,
    private readonly options: SpoolOptions,
  ) {}

  /** Opens the spool and seals whatever a previous run left, cutting torn last lines. */
  static async open(dir: string, options: SpoolOptions): Promise<Spool> {
    await mkdir(dir, { recursive: true });
    const spool = new Spool(dir, options);
    for (const name of readdirSync(dir).sort()) {
      const m = NAME.exec(name);
      if (!m) continue;
      const file = path.join(dir, name);
      const { events, bytes } = recoverSegment(file);
      if (events === 0) rmSync(file);
      else {
        spool.sealed.push({ file, createdMs: Number(m[1]), events, bytes });
        spool.events += events;
        spool.bytes += bytes;
      }
    }
    syncDir(dir);
    return spool;
  }

  /** Appends NDJSON lines (each ending in \n) holding `events` events; resolves once durable (or written). */
  async append(data: Buffer, events: number, durable = true): Promise<void> {
    let active = this.active;
    // A segment opened while we waited may already be sealed again by other appends: open another.
    while (!active) {
      // Cleared once settled: a segment that could not be opened (a full disk) is tried again.
      this.opening ??= this.openSegment().finally(() => {
        this.opening = undefined;
      });
      await this.opening;
      active = this.active;
    }
    active.seg.events += events;
    active.seg.bytes += data.length;
    this.events += events;
    this.bytes += data.length;
    const done = active.file.append(data, durable);
    if (active.seg.bytes >= SEGMENT_MAX_BYTES || active.seg.events >= this.options.segmentEvents) {
      this.seal();
      this.options.onSealed?.();
    }
    try {
      await done;
    } catch (err) {
      // A failed write leaves its segment taking no more: later appends go to a new one.
      if (this.active === active) void this.seal();
      throw err;
    }
  }

  private async openSegment(): Promise<{ seg: Segment; file: GroupCommitFile }> {
    const now = Date.now();
    const name = `seg-${String(now).padStart(13, '0')}-${process.pid}-${String(++this.seq).padStart(6, '0')}.ndjson`;
    const file = path.join(this.dir, name);
    const opened = {
      seg: { file, createdMs: now, events: 0, bytes: 0 },
      file: await GroupCommitFile.open(file, this.options.onFsync),
    };
    this.active = opened;
    return opened;
  }

  /**
   * Seals the open segment: later appends go to a new one. It joins the drainable list once its
   * last write is durable (or failed: then only what is durable counts, and that is recovered as on
   * startup).
   */
  seal(): Promise<void> {
    const active = this.active;
    if (!active) return Promise.resolve();
    this.active = undefined;
    this.closing.add(active);
    return active.file.close().then(
      () => {
        this.closing.delete(active);
        if (active.file.broken) {
          this.events -= active.seg.events;
          this.bytes -= active.seg.bytes;
          Object.assign(active.seg, recoverSegment(active.seg.file));
          this.events += active.seg.events;
          this.bytes += active.seg.bytes;
        }
        if (active.seg.events > 0) this.sealed.push(active.seg);
      },
      () => {
        this.closing.delete(active);
        this.events -= active.seg.events;
        this.bytes -= active.seg.bytes;
      },
    );
  }

  /** Sealed segments, oldest first. */
  drainable(): readonly Segment[] {
    return this.sealed;
  }

  /**
   * Forgets and deletes segments that are ingested. The unlinks and the directory fsync run on the
   * thread pool, not on the event loop that answers requests.
   */
  async remove(segments: readonly Segment[]): Promise<void> {
    for (const seg of segments) {
      const i = this.sealed.indexOf(seg);
      if (i >= 0) {
        this.sealed.splice(i, 1);
        this.events -= seg.events;
        this.bytes -= seg.bytes;
      }
    }
    await Promise.all(segments.map((seg) => rm(seg.file, { force: true })));
    await syncDirAsync(this.dir);
  }

  /** Events and bytes not yet drained, and the creation time of the oldest segment holding some. */
  depth(): { events: number; bytes: number; oldestMs: number | undefined } {
    let oldestMs: number | undefined;
    for (const s of this.sealed)
      if (s.events > 0 && (oldestMs === undefined || s.createdMs < oldestMs)) oldestMs = s.createdMs;
    for (const c of this.closing)
      if (c.seg.events > 0 && (oldestMs === undefined || c.seg.createdMs < oldestMs))
        oldestMs = c.seg.createdMs;
    const a = this.active?.seg;
    if (a && a.events > 0 && (oldestMs === undefined || a.createdMs < oldestMs)) oldestMs = a.createdMs;
    return { events: this.events, bytes: this.bytes, oldestMs };
  }

  /** Events not yet drained (acknowledged or on their way): the overload check, per request. */
  get pendingEvents(): number {
    return this.events;
  }

  /** Seals the open segment and waits for every write in flight. */
  async close(): Promise<void> {
    await this.opening?.catch(() => undefined);
    await this.seal();
    await Promise.all([...this.closing].map((c) => c.file.close()));
  }
}

/** Cuts a segment after its last complete line and counts its events. */
function recoverSegment(file: string): { events: number; bytes: number } {
  const data = readFileSync(file);
  const end = data.lastIndexOf(0x0a) + 1;
  if (end < data.length) truncateSync(file, end);
  let events = 0;
  for (let i = data.indexOf(0x0a); i >= 0 && i < end; i = data.indexOf(0x0a, i + 1)) events++;
  return { events, bytes: end };
}
