// Commands run beside `adpipe serve`: the server holds the data dir (run lock and DuckDB's own
// lock), so a command that reads or checks it asks the server over HTTP instead, at the address
// the server wrote into the lock file, with the key of the CLI's own config (server.admin_keys[0],
// else server.read_keys[0]). The command prints the answer with the same code as its local run.

import { AdpipeError, ERRORS, type ErrorCode } from '../errors.js';
import { type LockHolder, lockedError, lockHolder } from '../util/run-lock.js';
import type { CliContext } from './context.js';

/** The `adpipe serve` process holding a data dir, and how to reach it. */
export interface Server {
  dataDir: string;
  pid: number;
  address: string;
  key?: string;
}

function serverOf(ctx: CliContext): Server | undefined {
  const holder = lockHolder(ctx.dataDir);
  if (!holder?.address) return undefined;
  const key = ctx.config.server.admin_keys[0] ?? ctx.config.server.read_keys[0];
  return { dataDir: ctx.dataDir, pid: holder.pid, address: holder.address, key };
}

/**
 * `remote` against the server serving the data dir, else `local`. A server that stopped between
 * reading the lock and asking it leaves the data dir free: the command then runs locally.
 */
export async function onServerOr<T>(
  ctx: CliContext,
  remote: (server: Server) => Promise<T>,
  local: () => Promise<T>,
): Promise<T> {
  const server = serverOf(ctx);
  if (!server) return local();
  try {
    return await remote(server);
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err;
    const holder: LockHolder | undefined = lockHolder(ctx.dataDir);
    if (!holder) return local();
    throw lockedError(ctx.dataDir, holder, err.cause);
  }
}

class Unreachable extends Error {}

/** A JSON request to the server; an error answer is thrown as the AdpipeError it names. */
export async function ask<T>(
  server: Server,
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = {};
  if (server.key) headers.authorization = `Bearer ${server.key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${server.address}${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new Unreachable(`${server.address} does not answer`, { cause: err });
  }
  const text = await res.text();
  if (res.ok) return JSON.parse(text) as T;
  throw answerError(server, res.status, text);
}

function answerError(server: Server, status: number, text: string): AdpipeError {
  let error: { code?: string; message?: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    /* not an adpipe error body */
  }
  const code = (error?.code && error.code in ERRORS ? error.code : 'ADP_ERR_INTERNAL') as ErrorCode;
  const err = new AdpipeError(code);
  err.message = error?.message ?? `HTTP ${status}: ${text.slice(0, 200)}`;
  if (status === 401 || status === 403)
    err.message += `; adpipe serve (pid ${server.pid}, ${server.address}) holds the data dir ${server.dataDir} and wants a key: this command sends server.admin_keys[0], else server.read_keys[0], of its own config (${server.key ? 'the one sent was refused' : 'which has none'})`;
  return err;
}
