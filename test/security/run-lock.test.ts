// Finding 8: a stale lock whose pid was reused by another process (or is a zombie) blocked
// `adpipe serve` for good. The lock records pid and start time; such a lock is taken over with a
// log line, while a lock of a live holder still refuses. Real `adpipe serve` processes (needs
// `npx tsc -p .`).

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/tmp.js';
import { startCli } from '../pipeline/fixtures.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A process that stays alive (sleep), and its start time as /proc gives it. */
function sleeper(script = 'exec sleep 60'): ChildProcess {
  const c = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(c);
  return c;
}
const startTimeOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};
const stateOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
};

/** Runs `adpipe serve` on `dataDir` holding `lock`; resolves how it went once serving or exited. */
async function serveWithLock(
  lock: string,
): Promise<{ serving: boolean; stderr: string; code: number | null }> {
  const dataDir = makeTempDir('run-lock');
  writeFileSync(path.join(dataDir, 'adpipe.lock'), lock);
  const cli = startCli(dataDir, ['serve', '--port', '0', '--host', '127.0.0.1']);
  children.push(cli.child);
  await expect
    .poll(() => /serving on/.test(cli.output().stdout) || cli.child.exitCode !== null, { timeout: 20_000 })
    .toBe(true);
  const serving = /serving on/.test(cli.output().stdout);
  if (serving) {
    const lockNow = readFileSync(path.join(dataDir, 'adpipe.lock'), 'utf8');
    // pid and start time, then the address it serves on.
    expect(lockNow).toMatch(
      new RegExp(`^${cli.child.pid} ${startTimeOf(cli.child.pid!)}\nhttp://127\\.0\\.0\\.1:\\d+\n$`),
    );
    cli.child.kill('SIGTERM');
  }
  const done = await cli.done;
  return { serving, stderr: done.stderr, code: done.code };
}

describe('the run lock', () => {
  it('is taken over, with a log line, when its pid now belongs to another process', async () => {
    const other = sleeper();
    await expect.poll(() => startTimeOf(other.pid!)).toBeTruthy();
    const r = await serveWithLock(`${other.pid} 1\n`);
    expect(r.serving).toBe(true);
    expect(r.stderr).toMatch(
      new RegExp(`taking over a stale lock: pid ${other.pid} now belongs to another process`),
    );
  });

  it('is taken over when its holder is a zombie', async () => {
    // sh starts a short sleep and becomes a long one that never reaps it: a zombie, alive to kill(0).
    const parent = sleeper('sleep 0.1 & echo $!; exec sleep 60');
    const zombie = await new Promise<number>((resolve) =>
      parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString()))),
    );
    await expect.poll(() => stateOf(zombie), { timeout: 5000 }).toBe('Z');
    // An old lock file: the pid alone.
    const r = await serveWithLock(`${zombie}\n`);
    expect(r.serving).toBe(true);
    expect(r.stderr).toMatch(new RegExp(`pid ${zombie} is a zombie`));
  });

  it('still refuses while its holder (same pid, same start time) runs', async () => {
    const holder = sleeper();
    await expect.poll(() => startTimeOf(holder.pid!)).toBeTruthy();
    for (const lock of [`${holder.pid} ${startTimeOf(holder.pid!)}\n`, `${holder.pid}\n`]) {
      const r = await serveWithLock(lock);
      expect(r.serving).toBe(false);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`ADP_ERR_WAREHOUSE_LOCKED`);
      expect(r.stderr).toContain(`(pid ${holder.pid})`);
    }
  });
});
