/**
 * Per-suite scratch directories under `test/tmp/` (gitignored).
 *
 *   const dir = makeTempDir('lake');   // test/tmp/lake-XXXXXX, removed after this test file
 *
 * Importing this module registers one `afterAll` on the importing test file that removes every
 * directory made through it; a process `exit` hook is the fallback (e.g. when modules are shared
 * between files with `isolate: false`). Set ADPIPE_KEEP_TMP=1 to keep them for debugging.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** Absolute path of `test/tmp/`. */
export const TEST_TMP_ROOT = fileURLToPath(new URL('../tmp/', import.meta.url));

const created = new Set<string>();
const keep = (): boolean => process.env.ADPIPE_KEEP_TMP === '1';

/** Create a fresh empty directory `test/tmp/<prefix>-XXXXXX` and return its absolute path. */
export function makeTempDir(prefix = 'tmp'): string {
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) {
    throw new Error(`makeTempDir: prefix must match [A-Za-z0-9._-]+, got ${JSON.stringify(prefix)}`);
  }
  mkdirSync(TEST_TMP_ROOT, { recursive: true });
  const dir = mkdtempSync(join(TEST_TMP_ROOT, `${prefix}-`));
  created.add(dir);
  return dir;
}

/** Remove every directory made by makeTempDir so far (called automatically after the suite). */
export async function removeTempDirs(): Promise<void> {
  if (keep()) return;
  const dirs = [...created];
  created.clear();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

afterAll(removeTempDirs);

// One process-wide exit hook (module instances may be re-evaluated per test file in the same worker).
const registry = globalThis as { __adpipeTmpDirs?: Set<Set<string>> };
if (registry.__adpipeTmpDirs === undefined) {
  const sets = new Set<Set<string>>();
  registry.__adpipeTmpDirs = sets;
  process.once('exit', () => {
    if (keep()) return;
    for (const set of sets) for (const dir of set) rmSync(dir, { recursive: true, force: true });
  });
}
registry.__adpipeTmpDirs.add(created);
