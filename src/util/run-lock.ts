// One writer per data dir (seed 000's fcntl lock, portable): a lock file holding the holder's pid
// and, where /proc tells it, the holder's start time, created atomically. A lock whose holder is
// gone is stale and taken over: its pid is not alive, is a zombie, or (the start time differing)
// now belongs to another process that reused it. Lock files holding only a pid are still read.

import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AdpipeError } from '../errors.js';
import { componentLogger } from '../logger.js';

const log = componentLogger('run-lock');

export interface RunLock {
  release(): void;
}

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

export function acquireRunLock(dataDir: string): RunLock {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'adpipe.lock');
  const mine = `${[process.pid, procStat(process.pid)?.startTime].filter((x) => x !== undefined).join(' ')}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, mine);
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(file, 'utf8') === mine) rmSync(file);
        } catch {
          /* already gone */
        }
      };
      process.once('exit', release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [pidText, startTime] = readFileSync(file, 'utf8').trim().split(/\s+/);
    const holder = Number(pidText);
    const stale = holder === process.pid ? undefined : staleReason(holder, startTime);
    if (holder !== process.pid && stale === undefined)
      throw new AdpipeError('ADP_ERR_LOCKED', [dataDir, holder]);
    log.warn({ lock: file, holder: pidText }, `taking over a stale lock: ${stale ?? 'it is our own pid'}`);
    // Stale: move it aside atomically so two takers cannot both win, then retry the create.
    try {
      renameSync(file, `${file}.stale-${process.pid}`);
      rmSync(`${file}.stale-${process.pid}`, { force: true });
    } catch {
      /* someone else took it over first; the retry will tell */
    }
  }
  throw new AdpipeError('ADP_ERR_LOCKED', [dataDir, 'unknown']);
}
