// The HTTP intake (the collector's spool as a source) passes the source conformance suite. Units are
// offered as the intake leaves them: sealed, fsynced segments in <data-dir>/spool.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe } from 'vitest';
import { SpoolSource } from '../../src/sources/spool/source.js';
import { sourceConformance } from './conformance.js';

const spoolDir = (dataDir: string) => path.join(dataDir, 'spool');
let seq = 0;

describe('http intake conformance', () => {
  sourceConformance({
    offer: (dataDir, _inputDir, _name, data) => {
      mkdirSync(spoolDir(dataDir), { recursive: true });
      const name = `seg-${String(Date.now()).padStart(13, '0')}-1-${String(++seq).padStart(6, '0')}.ndjson`;
      const file = path.join(spoolDir(dataDir), name);
      writeFileSync(file, data);
      return file;
    },
    create: (dataDir) =>
      SpoolSource.create({
        dir: spoolDir(dataDir),
        segmentEvents: 1000,
        intervalMs: 100,
        retryMaxMs: 1000,
        highWater: 1_000_000,
        events: { inc: () => undefined },
        health: { fail: () => undefined, clear: () => undefined },
      }),
    command: () => ['serve', '--port', '0'],
    finite: false,
    idle: (dataDir) => !readdirSync(spoolDir(dataDir)).some((f) => f.startsWith('seg-')),
  });
});
