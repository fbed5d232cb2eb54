import { write } from 'node:fs';
import { pino } from 'pino';

// One logger for every component; each adds `{ component }` so lines can be filtered alike.
// Logs go to stderr so stdout stays clean for reports and summaries: JSON lines for machines, and
// short human lines when stderr is a terminal (ADPIPE_LOG_FORMAT=json|pretty overrides).
//
// Written asynchronously, on the thread pool, by LogDestination: a log on a full disk, or on a pipe
// nobody reads, must never hold up the event loop (pino's synchronous stderr retried ENOSPC
// forever there, and /healthz and SIGTERM went unanswered). Lines that cannot be written are
// dropped and counted instead.

/** Log bytes waiting for their write, at most: beyond it lines are dropped (and counted). */
export const LOG_QUEUE_MAX_BYTES = 1024 * 1024;

export class LogDestination {
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  private idle: Array<() => void> = [];
  /** Lines dropped since the start: over the queue limit, or in a write that failed. */
  dropped = 0;
  /** The last write's error while writes keep failing, else undefined. */
  problem: string | undefined;
  private readonly watchers = new Set<(problem: string | undefined) => void>();

  constructor(private readonly fd: number) {}

  /** pino's stream interface: one line, ending in \n. */
  write(line: string): void {
    if (this.queuedBytes + line.length > LOG_QUEUE_MAX_BYTES) {
      this.dropped++;
      return;
    }
    this.queue.push(line);
    this.queuedBytes += line.length;
    if (!this.writing) this.writeQueued();
  }

  private writeQueued(): void {
    const lines = this.queue.length;
    this.writeBytes(Buffer.from(this.queue.join('')), lines);
    this.queue = [];
    this.queuedBytes = 0;
  }

  private writeBytes(bytes: Buffer, lines: number): void {
    this.writing = true;
    write(this.fd, bytes, (err, written) => {
      // Not retried: lines that fail are dropped, so a failing log cannot grow the queue.
      if (err) this.dropped += lines;
      this.setProblem(err ? `log writes fail: ${err.code ?? err.message}` : undefined);
      if (!err && written < bytes.length) return this.writeBytes(bytes.subarray(written), lines);
      this.writing = false;
      if (this.queue.length > 0) this.writeQueued();
      else for (const resolve of this.idle.splice(0)) resolve();
    });
  }

  private setProblem(problem: string | undefined): void {
    if (problem === this.problem) return;
    this.problem = problem;
    for (const watch of this.watchers) watch(problem);
  }

  /** Calls `fn` with `problem` now and whenever it changes, until the returned function is called. */
  watch(fn: (problem: string | undefined) => void): () => void {
    this.watchers.add(fn);
    fn(this.problem);
    return () => this.watchers.delete(fn);
  }

  /** Resolves true once every queued line is written (or dropped), false if that takes over `ms`. */
  flush(ms: number): Promise<boolean> {
    if (!this.writing) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      timer.unref();
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

export const logDestination = new LogDestination(2);

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const LEFT_OUT = new Set(['level', 'time', 'pid', 'hostname', 'app', 'component', 'msg', 'err']);

/** One pino JSON line as `12:00:01 warn ingest: file set aside file=… reason=…`. */
export function prettyLine(json: string): string {
  const rec = JSON.parse(json) as Record<string, unknown>;
  const time = new Date(Number(rec.time)).toTimeString().slice(0, 8);
  const where = rec.component ? ` ${rec.component}:` : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !LEFT_OUT.has(k))
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('');
  const err = rec.err as { message?: string; stack?: string } | undefined;
  const cause = err ? `\n  ${err.stack ?? err.message}` : '';
  return `${time} ${LEVELS[Number(rec.level)] ?? rec.level}${where} ${rec.msg ?? ''}${fields}${cause}\n`;
}

/** Both formats go through logDestination, so a pretty log cannot block the event loop either. */
function destination() {
  const format = process.env.ADPIPE_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty') return logDestination;
  return { write: (line: string) => logDestination.write(prettyLine(line)) };
}

export const logger = pino(
  {
    level: process.env.ADPIPE_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'warn'),
    base: { app: 'adpipe' },
  },
  destination(),
);

export function componentLogger(component: string) {
  return logger.child({ component });
}
