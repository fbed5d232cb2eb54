// An append-only file with group commit: appends that arrive while an fsync is in flight are written
// together and made durable by the next single fdatasync, so many concurrent requests share one.
// A promise resolves only once its bytes are on disk.

import { closeSync, fsyncSync, openSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommitFile {
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  /** Bytes known to be on disk. */
  private durable: number;
  /** Bytes accepted by append (durable or on their way). */
  size: number;
  broken = false;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    size: number,
    private readonly onFsync?: (seconds: number) => void,
  ) {
    this.durable = size;
    this.size = size;
  }

  /** Opens (creating) `file` for appending; a new file's directory entry is made durable too. */
  static async open(file: string, onFsync?: (seconds: number) => void): Promise<GroupCommitFile> {
    const fh = await open(file, 'a');
    const { size } = await fh.stat();
    if (size === 0) syncDir(path.dirname(file));
    return new GroupCommitFile(file, fh, size, onFsync);
  }

  append(data: Buffer): Promise<void> {
    if (this.broken) return Promise.reject(new Error(`${this.file} failed earlier and takes no more writes`));
    this.size += data.length;
    return new Promise<void>((resolve, reject) => {
      this.pending.push(data);
      this.waiters.push({ resolve, reject });
      // Wait one turn so appends from requests parsed in the same tick join this group.
      this.flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.flushLoop());
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        for (let off = 0; off < data.length; ) off += (await this.fh.write(data, off)).bytesWritten;
        const t = process.hrtime.bigint();
        await this.fh.datasync();
        this.onFsync?.(Number(process.hrtime.bigint() - t) / 1e9);
        this.durable += data.length;
        for (const w of waiters) w.resolve();
      } catch (err) {
        // Cut back to what is known durable so no half line sits before later appends, and stop.
        this.broken = true;
        await this.fh.truncate(this.durable).catch(() => undefined);
        for (const w of [...waiters, ...this.waiters]) w.reject(err);
        this.pending = [];
        this.waiters = [];
      }
    }
    this.flushing = undefined;
  }

  /** Waits for every append so far to be durable (or failed), then closes the file. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.fh.close();
  }
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
