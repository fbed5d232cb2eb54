// An append-only file with group commit: appends that arrive while an fsync is in flight are written
// together and made durable by the next single fdatasync, so many concurrent requests share one.
// A promise resolves only once its bytes are on disk.

import { closeSync, fsyncSync, openSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';

interface Waiter {
  /** Offset just past this append's bytes. */
  end: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommitFile {
  private pending: Buffer[] = [];
  /** Appends waiting for their write, and whether they wait for the fsync after it too. */
  private queued: Array<Waiter & { durable: boolean }> = [];
  /** Written appends waiting for an fsync. */
  private unsynced: Waiter[] = [];
  private writing: Promise<void> | undefined;
  private syncing: Promise<void> | undefined;
  /** Bytes written (in the OS page cache: they survive a crash of this process). */
  private written: number;
  /** Bytes accepted by append (durable or on their way). */
  size: number;
  broken = false;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    size: number,
    private readonly onFsync?: (seconds: number) => void,
  ) {
    this.written = size;
    this.size = size;
  }

  /** Opens (creating) `file` for appending; a new file's directory entry is made durable too. */
  static async open(file: string, onFsync?: (seconds: number) => void): Promise<GroupCommitFile> {
    const fh = await open(file, 'a');
    const { size } = await fh.stat();
    if (size === 0) await syncDirAsync(path.dirname(file));
    return new GroupCommitFile(file, fh, size, onFsync);
  }

  /**
   * Appends `data`; resolves once it is fsynced, or with `durable: false` once it is written (safe
   * from a crash of this process, not yet from a crash of the machine).
   */
  append(data: Buffer, durable = true): Promise<void> {
    if (this.broken) return Promise.reject(new Error(`${this.file} failed earlier and takes no more writes`));
    this.size += data.length;
    const end = this.size;
    return new Promise<void>((resolve, reject) => {
      this.pending.push(data);
      this.queued.push({ end, resolve, reject, durable });
      // Wait one turn so appends from requests parsed in the same tick join this write.
      this.writing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.writeLoop());
    });
  }

  // Writes and fsyncs run side by side: groups keep being written while an fsync is in flight, and
  // the next fsync covers all of them.
  private async writeLoop(): Promise<void> {
    while (this.pending.length > 0 && !this.broken) {
      const data = this.pending;
      const queued = this.queued;
      this.pending = [];
      this.queued = [];
      let bytes = 0;
      try {
        // One writev of the group's buffers: no copy into one buffer first.
        for (let rest = data; rest.length > 0; ) {
          const { bytesWritten } = await this.fh.writev(rest);
          bytes += bytesWritten;
          rest = afterBytes(rest, bytesWritten);
        }
      } catch (err) {
        await this.fail(err, queued);
        break;
      }
      this.written += bytes;
      for (const w of queued) {
        if (w.durable) this.unsynced.push(w);
        else w.resolve();
      }
      if (this.unsynced.length > 0) this.syncing ??= this.syncLoop();
    }
    this.writing = undefined;
  }

  private async syncLoop(): Promise<void> {
    while (this.unsynced.length > 0 && !this.broken) {
      const target = this.written;
      try {
        const t = process.hrtime.bigint();
        await this.fh.datasync();
        this.onFsync?.(Number(process.hrtime.bigint() - t) / 1e9);
      } catch (err) {
        await this.fail(err, []);
        break;
      }
      const still: Waiter[] = [];
      for (const w of this.unsynced) {
        if (w.end <= target) w.resolve();
        else still.push(w);
      }
      this.unsynced = still;
    }
    this.syncing = undefined;
  }

  /** Cuts back to the last whole write, so no half line sits before later appends, and stops. */
  private async fail(err: unknown, inFlight: Waiter[]): Promise<void> {
    this.broken = true;
    await this.fh.truncate(this.written).catch(() => undefined);
    for (const w of [...inFlight, ...this.unsynced, ...this.queued]) w.reject(err);
    this.pending = [];
    this.queued = [];
    this.unsynced = [];
  }

  /** Waits for every append so far to be durable (or failed), then closes the file. */
  async close(): Promise<void> {
    while (this.writing || this.syncing) {
      await this.writing;
      await this.syncing;
    }
    await this.fh.close();
  }
}

/** What is left of `buffers` once their first `n` bytes are written. */
function afterBytes(buffers: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < buffers.length && n >= buffers[i]!.length) n -= buffers[i++]!.length;
  if (i === buffers.length) return [];
  return [buffers[i]!.subarray(n), ...buffers.slice(i + 1)];
}

/** fsyncs a directory so a file created or removed in it survives a crash. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** syncDir on the thread pool, so the event loop keeps answering meanwhile. */
export async function syncDirAsync(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
