// One writer per data dir (seed 000's fcntl lock, portable): a lock file holding the holder's pid,
// created atomically. A lock whose pid is no longer alive is stale and taken over.

import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AdpipeError } from '../errors.js';

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

export function acquireRunLock(dataDir: string): RunLock {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'adpipe.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
        } catch {
          /* already gone */
        }
      };
      process.once('exit', release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(holder) && alive(holder) && holder !== process.pid) {
      throw new AdpipeError('ADP_ERR_LOCKED', [dataDir, holder]);
    }
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
