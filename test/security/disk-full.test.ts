// Finding 6 (the spool): a full disk under the spool. Clients are answered 503 with Retry-After and
// no path, /readyz fails with the reason until a write succeeds again, and nothing acknowledged is
// lost or counted twice. The full disk is real: a 1 MiB tmpfs mounted on <data-dir>/spool (the
// tests run as root; without mount they are skipped, except in CI).

import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeCounts, startServer, type TestServer } from '../collector/server.js';
import { makeTempDir } from '../helpers/tmp.js';

const dataDir = makeTempDir('disk-full');
const spoolDir = path.join(dataDir, 'spool');
const filler = path.join(spoolDir, 'filler');

function mountTmpfs(): boolean {
  mkdirSync(spoolDir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', spoolDir], { stdio: 'pipe' });
    return true;
  } catch (err) {
    if (process.env.CI) throw err;
    console.warn(`disk-full tests skipped: cannot mount a tmpfs here (${(err as Error).message.trim()})`);
    return false;
  }
}

/** Fills the tmpfs to the last byte. */
function fill(): void {
  try {
    writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
}

const mounted = mountTmpfs();
let s: TestServer | undefined;
beforeAll(async () => {
  if (mounted) s = await startServer({ drain_interval_ms: 100_000 }, dataDir);
});
afterAll(async () => {
  if (!mounted) return;
  await s?.stop();
  execFileSync('umount', ['-l', spoolDir]);
});

const event = (id: string) => `{"event_id":"${id}","type":"click","ts":"2026-01-01T00:00:00.000Z"}`;
const post = (ids: string[]) =>
  fetch(`${s!.url}/v1/events`, { method: 'POST', body: ids.map(event).join('\n') });

describe.skipIf(!mounted)('a full disk under the spool', () => {
  it('answers 503 with Retry-After and fails /readyz until a write succeeds again', async () => {
    expect((await post(['a1', 'a2'])).status).toBe(200);
    fill();
    // More than the page the open segment already has: its bytes need new blocks.
    const refused = Array.from({ length: 200 }, (_, i) => `b${i}`);
    for (const ids of [refused.slice(0, 100), refused.slice(100)]) {
      const full = await post(ids);
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toMatch(/^\d+$/);
      const body = await full.json();
      expect(body.error.code).toBe('ADP_ERR_COLLECTOR_DISK_FULL');
      expect(body.error.message).not.toContain(dataDir);
    }
    expect((await fetch(`${s!.url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${s!.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect((await notReady.json()).checks.spool).toMatch(/^disk full/);

    rmSync(filler);
    // The client's retry of what was refused, and more.
    expect(await (await post([...refused, 'c1'])).json()).toMatchObject({ accepted: 201, duplicates: 0 });
    const ready = await fetch(`${s!.url}/readyz`);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { spool: 'ok' } });

    // Everything acknowledged, once: the final drain lands it in the lake.
    await s!.stop();
    s = await startServer({}, dataDir);
    expect(await lakeCounts(s.warehouse)).toEqual({ click: 203 });
  });
});
