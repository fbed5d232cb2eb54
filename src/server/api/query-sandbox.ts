// User SQL runs in a child process (query-worker.ts), one query at a time: DuckDB neither bounds
// every allocation by its memory_limit nor checks for interrupts everywhere (a scalar
// generate_series of 1e8 grew past 9 GB and ran on for 50 s after its interrupt), so the only stop
// that always works is killing the process. The parent interrupts at the time limit, kills the child
// when it has not stopped a moment later or when its resident memory passes the limit, and starts a
// fresh one for the next query.
//
// The API's child cannot open the warehouse (one process holds it; a second instance in this
// process would downgrade and then drop its file lock), so it reads copies: the readable tables a
// query names, exported to Parquet by a read transaction when first needed after the warehouse
// changed, and the lake's committed files.

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { AdpipeError, type ErrorCode } from '../../errors.js';
import { lakeRelation } from '../../lake/lake.js';
import { startChildProcess } from '../../util/worker.js';
import { sqlIdent, sqlString } from '../../warehouse/quote.js';
import type { WorkerReply, WorkerSetup } from './query-worker.js';
import type { SqlResult } from './read-only-sql.js';
import type { ReaderPool } from './readers.js';

export interface QueryLimits {
  timeoutMs: number;
  memoryMb: number;
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
  private nextId = 1;

  constructor(
    private readonly setup: WorkerSetup,
    private readonly limits: QueryLimits,
    /** Replaced by <data-dir> in error messages, so the API's do not show server paths. */
    private readonly hiddenDir?: string,
  ) {}

  /** Runs `sql` after every query before it; `views` (name → relation) are defined first. */
  run(sql: string, maxRows: number, views?: () => Promise<Record<string, string>>): Promise<SqlResult> {
    const next = this.queue.then(async () => {
      const relations = await views?.();
      return this.runNow(await (this.child ?? this.spawn()), sql, maxRows, relations);
    });
    this.queue = next.catch(() => undefined);
    return next;
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
    views: Record<string, string> = {},
  ): Promise<SqlResult> {
    const changed = Object.entries(views).filter(
      ([name, relation]) => this.childViews.get(name) !== relation,
    );
    const id = this.nextId++;
    const { timeoutMs, memoryMb } = this.limits;
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

/**
 * Parquet copies of the readable tables a query names, taken when first needed since the warehouse
 * last changed: the database file and its WAL change with every commit, so their sizes and times
 * say when a copy is stale. The lake needs no copy, only the list of its committed files.
 */
export class QuerySnapshots {
  private current?: { key: string; dir: string; relations: Map<string, string> };
  private seq = 0;

  constructor(
    private readonly dataDir: string,
    private readonly readers: ReaderPool,
  ) {}

  get root(): string {
    return path.join(this.dataDir, 'query-snapshot');
  }

  /** Relations (name → SQL) for the readable `tables`, copying those not copied in this state. */
  async viewsFor(tables: ReadonlySet<string>): Promise<Record<string, string>> {
    const key = this.warehouseState();
    if (this.current?.key !== key) {
      // The sandbox runs one query at a time and this runs before it: older copies are unused.
      rmSync(this.root, { recursive: true, force: true });
      const dir = path.join(this.root, String(++this.seq));
      mkdirSync(dir, { recursive: true });
      this.current = { key, dir, relations: new Map() };
    }
    const { dir, relations } = this.current;
    const missing = [...tables].filter((t) => !relations.has(t));
    if (missing.length > 0)
      await this.readers.use((wh) =>
        wh.transaction(async () => {
          for (const table of missing) {
            if (table === 'lake') {
              relations.set(table, await lakeRelation(wh));
              continue;
            }
            const file = path.join(dir, `${table}.parquet`);
            await wh.run(`COPY ${sqlIdent(table)} TO ${sqlString(file)} (FORMAT parquet)`);
            relations.set(table, `read_parquet(${sqlString(file)})`);
          }
        }),
      );
    return Object.fromEntries([...tables].map((t) => [t, relations.get(t)!]));
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private warehouseState(): string {
    const file = path.join(this.dataDir, 'warehouse.duckdb');
    return [file, `${file}.wal`]
      .map((f) => {
        try {
          const s = statSync(f);
          return `${s.size}@${s.mtimeMs}`;
        } catch {
          return '-';
        }
      })
      .join(',');
  }
}
