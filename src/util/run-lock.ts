// One writer per data dir (seed 000's fcntl lock, portable): a lock file holding the holder's pid
// and, where /proc tells it, the holder's start time, created atomically. A lock whose holder is
// gone is stale and taken over: its pid is not alive, is a zombie, or (the start time differing)
// now belongs to another process that reused it. A holder that serves HTTP (`adpipe serve`) adds
// its address on a second line, so commands run beside it can ask it instead of the data dir.
// Lock files holding only a pid, or no address, are still read.

import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AdpipeError } from '../errors.js';
import { componentLogger } from '../logger.js';

const log = componentLogger('run-lock');

export interface RunLock {
  release(): void;
}

/** The live process holding a data dir, and where it serves HTTP when it does. */
export interface LockHolder {
  pid: number;
  address?: string;
}

const lockFile = (dataDir: string) => path.join(dataDir, 'adpipe.lock');

/** The lock files this process holds (path → its current content), for announceAddress. */
const held = new Map<string, string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's state letter and start time (clock ticks after boot) from /proc, or undefined. */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its `)`.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, startTime: fields[19]! };
  } catch {
    return undefined;
  }
}

/** Why the holder recorded in a lock file no longer holds it, or undefined while it does. */
function staleReason(pid: number, startTime: string | undefined): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return 'no pid in the lock file';
  if (!alive(pid)) return `pid ${pid} is not running`;
  const stat = procStat(pid);
  if (stat?.state === 'Z') return `pid ${pid} is a zombie`;
  if (stat && startTime !== undefined && stat.startTime !== startTime)
    return `pid ${pid} now belongs to another process (started at ${stat.startTime}, not ${startTime})`;
  return undefined;
}

/** A lock file's content: `pid [start time]`, then the address on the next line once serving. */
function parseLock(text: string): { pidText: string; startTime?: string; address?: string } {
  const [first = '', second] = text.split('\n');
  const [pidText = '', startTime] = first.trim().split(/\s+/);
  const address = second?.trim();
  return { pidText, startTime, address: address || undefined };
}

/** The live holder of dataDir's lock other than this process, or undefined when none holds it. */
export function lockHolder(dataDir: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(lockFile(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  const { pidText, startTime, address } = parseLock(text);
  const pid = Number(pidText);
  if (pid === process.pid || staleReason(pid, startTime) !== undefined) return undefined;
  return { pid, address };
}

/** ADP_ERR_WAREHOUSE_LOCKED for a data dir `holder` holds, saying what to do instead. */
export function lockedError(dataDir: string, holder: LockHolder, cause?: unknown): AdpipeError {
  const advice = holder.address
    ? `adpipe serve answers at ${holder.address}: send events to its collector (POST ${holder.address}/v1/events) or stop it (kill -TERM ${holder.pid}) first`
    : `wait until it ends, or stop it (kill -TERM ${holder.pid})`;
  return new AdpipeError('ADP_ERR_WAREHOUSE_LOCKED', [dataDir, holder.pid, advice], { cause });
}

/**
 * Records where the holder of dataDir's lock (this process) serves, e.g. http://127.0.0.1:8080.
 * Written to a temporary file and renamed over the lock, so a reader sees the old or the new lock,
 * never half of one.
 */
export function announceAddress(dataDir: string, address: string): void {
  const file = lockFile(dataDir);
  const mine = held.get(file);
  if (mine === undefined) return;
  const next = `${mine.split('\n')[0]}\n${reachableAddress(address)}\n`;
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, next);
  renameSync(temp, file);
  held.set(file, next);
}

/** A listener on every interface is reached on the loopback one. */
function reachableAddress(address: string): string {
  const url = new URL(address);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  else if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.origin;
}

export function acquireRunLock(dataDir: string): RunLock {
  mkdirSync(dataDir, { recursive: true });
  const file = lockFile(dataDir);
  const mine = `${[process.pid, procStat(process.pid)?.startTime].filter((x) => x !== undefined).join(' ')}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, mine);
      closeSync(fd);
      held.set(file, mine);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(file, 'utf8') === held.get(file)) rmSync(file);
        } catch {
          /* already gone */
        }
        held.delete(file);
      };
      process.once('exit', release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const { pidText, startTime, address } = parseLock(readFileSync(file, 'utf8'));
    const holder = Number(pidText);
    const stale = holder === process.pid ? undefined : staleReason(holder, startTime);
    if (holder !== process.pid && stale === undefined) throw lockedError(dataDir, { pid: holder, address });
    log.warn({ lock: file, holder: pidText }, `taking over a stale lock: ${stale ?? 'it is our own pid'}`);
    // Stale: move it aside atomically so two takers cannot both win, then retry the create.
    try {
      renameSync(file, `${file}.stale-${process.pid}`);
      rmSync(`${file}.stale-${process.pid}`, { force: true });
    } catch {
      /* someone else took it over first; the retry will tell */
    }
  }
  throw new AdpipeError('ADP_ERR_WAREHOUSE_LOCKED', [dataDir, 'unknown', 'try again']);
}
