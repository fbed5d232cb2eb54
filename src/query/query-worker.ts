// The child process user SQL runs in (see query-sandbox.ts): its own DuckDB instance with its own
// memory limit and threads, so a runaway query can be killed with everything it allocated. For the
// API the instance is in memory, reads only the snapshot and lake directories it is given and is
// locked; for the CLI it opens the warehouse read-only.

import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { AdpipeError } from '../errors.js';
import { lakeRelation } from '../lake/lake.js';
import { sqlIdent, sqlString } from '../warehouse/quote.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { runReadOnlySql, type SqlResult } from './read-only-sql.js';

export type WorkerSetup =
  | { mode: 'api'; memoryLimit: string; threads: number; allowedDirs: string[] }
  | { mode: 'cli'; memoryLimit: string; threads: number; dataDir: string };

export type WorkerRequest =
  | { kind: 'query'; id: number; sql: string; maxRows: number; views?: Record<string, string> }
  | { kind: 'interrupt' };

export type WorkerReply =
  | { id: number; ok: true; result: SqlResult }
  | { id: number; ok: false; code: string; message: string };

/** The first message: the instance is open (id 0), or why it is not. */
const READY_ID = 0;

async function openApi(setup: Extract<WorkerSetup, { mode: 'api' }>): Promise<DuckDBConnection> {
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: setup.memoryLimit,
    threads: String(setup.threads),
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // No spilling: a query over the limit fails instead of filling the disk.
    temp_directory: '',
  });
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  await conn.run(`SET allowed_directories = [${setup.allowedDirs.map(sqlString).join(', ')}]`);
  await conn.run('SET enable_external_access = false');
  await conn.run('SET lock_configuration = true');
  return conn;
}

async function openCli(setup: Extract<WorkerSetup, { mode: 'cli' }>): Promise<DuckDBConnection> {
  const wh = await Warehouse.open(setup.dataDir, {
    readOnly: true,
    memoryLimit: setup.memoryLimit,
    threads: setup.threads,
  });
  await wh.run(`CREATE OR REPLACE TEMP VIEW lake AS SELECT * FROM ${await lakeRelation(wh)}`);
  return wh.conn;
}

const setup = JSON.parse(process.argv[2] ?? '{}') as WorkerSetup;
const restrictTables = setup.mode === 'api';
const ready = setup.mode === 'api' ? openApi(setup) : openCli(setup);

function failure(id: number, err: unknown): WorkerReply {
  const code = err instanceof AdpipeError ? err.code : 'ADP_ERR_QUERY_FAILED';
  return { id, ok: false, code, message: (err as Error).message };
}

ready.then(
  () => process.send?.({ id: READY_ID, ok: true, result: { columns: [], rows: [], truncated: false } }),
  (err) => process.send?.(failure(READY_ID, err)),
);

async function answer(req: Extract<WorkerRequest, { kind: 'query' }>): Promise<WorkerReply> {
  try {
    const conn = await ready;
    for (const [name, relation] of Object.entries(req.views ?? {}))
      await conn.run(`CREATE OR REPLACE VIEW ${sqlIdent(name)} AS SELECT * FROM ${relation}`);
    return { id: req.id, ok: true, result: await runReadOnlySql(conn, req.sql, { ...req, restrictTables }) };
  } catch (err) {
    return failure(req.id, err);
  }
}

process.on('message', (req: WorkerRequest) => {
  if (req.kind === 'interrupt') {
    ready.then((conn) => conn.interrupt()).catch(() => undefined);
    return;
  }
  answer(req).then((reply) => process.send?.(reply));
});
process.on('disconnect', () => process.exit(0));
