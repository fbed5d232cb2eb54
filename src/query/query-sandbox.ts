// User SQL runs in a child process (query-worker.ts), one query at a time: DuckDB neither bounds
// every allocation by its memory_limit nor checks for interrupts everywhere (a scalar
// generate_series of 1e8 grew past 9 GB and ran on for 50 s after its interrupt), so the only stop
// that always works is killing the process. The parent interrupts at the time limit, kills the child
// when it has not stopped a moment later or when its resident memory passes the limit, and starts a
// fresh one for the next query.
//
// The API's child cannot open the warehouse (one process holds it; a second instance in this
// process would downgrade and then drop its file lock), so it reads copies: the readable tables a
// query names (src/server/api/query-snapshots.ts) and the lake's committed files. The CLI's child,
// with no server running, opens the warehouse read-only.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { AdpipeError, type ErrorCode } from '../errors.js';
import { startChildProcess } from '../util/worker.js';
import type { WorkerReply, WorkerSetup } from './query-worker.js';
import type { SqlResult } from './read-only-sql.js';

export interface QueryLimits {
  timeoutMs: number;
  memoryMb: number;
  /** Queries that may wait for the running one; a query beyond them is refused. None: no bound. */
  maxQueued?: number;
}

/** After an interrupt, how long a query may take to stop before its process is killed. */
const STOP_GRACE_MS = 500;
const MEMORY_POLL_MS = 25;
/** Node and DuckDB themselves, outside DuckDB's own memory_limit. */
const PROCESS_BASELINE_MB = 192;

/** DuckDB's own limit, below the process limit so an ordinary big query fails before it is killed. */
export function duckdbMemoryLimit(memoryMb: number): string {
  return `${Math.max(64, memoryMb - PROCESS_BASELINE_MB)}MB`;
}

function residentMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class QuerySandbox {
  /** The running child, once its DuckDB instance is open. */
  private child?: Promise<ChildProcess>;
  /** The views the current child has (name → relation), so each is sent again only when it changes. */
  private childViews = new Map<string, string>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Queries taken and not answered yet: the running one and those waiting for it. */
  private pending = 0;
  private nextId = 1;

  constructor(
    private readonly setup: WorkerSetup,
    private readonly limits: QueryLimits,
    /** Replaced by <data-dir> in error messages, so the API's do not show server paths. */
    private readonly hiddenDir?: string,
  ) {}

  /**
   * Runs `sql` after every query before it; `views` (name → relation) are defined first. `timeoutMs`
   * replaces the sandbox's time limit for this query. Refused (ADP_ERR_QUERY_BUSY) when
   * `maxQueued` queries wait already: a burst would otherwise hold its requests, and their
   * connections, for as long as the queue takes.
   */
  run(
    sql: string,
    maxRows: number,
    views?: () => Promise<Record<string, string>>,
    timeoutMs = this.limits.timeoutMs,
  ): Promise<SqlResult> {
    const { maxQueued } = this.limits;
    if (maxQueued !== undefined && this.pending > maxQueued) {
      // By then the running query has ended or been stopped, and the queue moved on.
      const retryAfterSeconds = Math.ceil(this.limits.timeoutMs / 1000);
      return Promise.reject(
        new AdpipeError('ADP_ERR_QUERY_BUSY', [maxQueued, retryAfterSeconds], { retryAfterSeconds }),
      );
    }
    this.pending++;
    const next = this.queue.then(async () => {
      const relations = await views?.();
      return this.runNow(await (this.child ?? this.spawn()), sql, maxRows, relations ?? {}, timeoutMs);
    });
    this.queue = next.catch(() => undefined);
    return next.finally(() => {
      this.pending--;
    });
  }

  /** Stops the child and waits until it has let go of everything it opened. */
  async close(): Promise<void> {
    const child = await this.child?.catch(() => undefined);
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** A fresh child; the time limit of a query starts once it has opened its instance. */
  private spawn(): Promise<ChildProcess> {
    const child = startChildProcess(import.meta.url, 'query-worker', [JSON.stringify(this.setup)]);
    const started = new Promise<ChildProcess>((resolve, reject) => {
      child.once('message', (reply: WorkerReply) => {
        if (reply.ok) return resolve(child);
        child.kill('SIGKILL');
        reject(this.workerError(reply.code as ErrorCode, reply.message));
      });
      child.once('exit', () => reject(new AdpipeError('ADP_ERR_INTERNAL', ['the query process ended'])));
      child.once('error', (err) => {
        this.child = undefined;
        reject(new AdpipeError('ADP_ERR_INTERNAL', [`cannot start the query process: ${err.message}`]));
      });
    });
    child.on('exit', () => {
      if (this.child === started) this.child = undefined;
    });
    // A send racing the child's death fails here; the exit that follows answers the query.
    child.on('error', () => undefined);
    this.childViews = new Map();
    this.child = started;
    return started;
  }

  private runNow(
    child: ChildProcess,
    sql: string,
    maxRows: number,
    views: Record<string, string>,
    timeoutMs: number,
  ): Promise<SqlResult> {
    const changed = Object.entries(views).filter(
      ([name, relation]) => this.childViews.get(name) !== relation,
    );
    const id = this.nextId++;
    const { memoryMb } = this.limits;
    return new Promise<SqlResult>((resolve, reject) => {
      let stopped: 'time' | 'memory' | undefined;
      let kill: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        stopped = 'time';
        child.send({ kind: 'interrupt' });
        kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      }, timeoutMs);
      const watch = setInterval(() => {
        if ((residentMb(child.pid ?? 0) ?? 0) <= memoryMb) return;
        stopped = 'memory';
        child.kill('SIGKILL');
      }, MEMORY_POLL_MS);
      const done = () => {
        clearTimeout(timer);
        clearTimeout(kill);
        clearInterval(watch);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const stopError = () =>
        stopped === 'memory'
          ? new AdpipeError('ADP_ERR_QUERY_MEMORY', [memoryMb])
          : new AdpipeError('ADP_ERR_QUERY_TIMEOUT', [timeoutMs]);
      const onMessage = (reply: WorkerReply) => {
        if (reply.id !== id) return;
        done();
        if (reply.ok) return resolve(reply.result);
        if (stopped || reply.code === 'ADP_ERR_QUERY_TIMEOUT') return reject(stopError());
        if (reply.code === 'ADP_ERR_QUERY_MEMORY')
          return reject(new AdpipeError('ADP_ERR_QUERY_MEMORY', [memoryMb]));
        reject(this.workerError(reply.code as ErrorCode, reply.message));
      };
      const onExit = () => {
        done();
        reject(stopped ? stopError() : new AdpipeError('ADP_ERR_INTERNAL', ['the query process ended']));
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ kind: 'query', id, sql, maxRows, views: Object.fromEntries(changed) });
      for (const [name, relation] of changed) this.childViews.set(name, relation);
    });
  }

  private workerError(code: ErrorCode, message: string): AdpipeError {
    const err = new AdpipeError(code);
    err.message = this.hiddenDir ? message.split(this.hiddenDir).join('<data-dir>') : message;
    return err;
  }
}
