// What the CLI says when things go wrong or are asked about, from the built bin as a user runs it:
// --version, an ingest that accepts nothing, the dead-letter store, a port in use, no data yet,
// report --help generated from the report model, and log lines for machines.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prettyLine } from '../../src/logger.js';
import { REPORTS, rollupDimensions } from '../../src/reports/model.js';
import { makeTempDir } from '../helpers/tmp.js';

const root = path.resolve('.');

function adpipe(...args: string[]) {
  return adpipeWith('warn', ...args);
}

function adpipeWith(logLevel: string, ...args: string[]) {
  return spawnSync(process.execPath, [path.join(root, 'bin/adpipe.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ADPIPE_LOG_LEVEL: logLevel },
  });
}

beforeAll(() => {
  // The bin runs dist/; type errors elsewhere in the tree must not stop the emit this test needs.
  spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root]);
}, 120_000);

const line = (fields: object) =>
  JSON.stringify({ type: 'impression', ts: '2026-12-01T10:00:00Z', ...fields });

describe('adpipe --version', () => {
  it('prints the version of package.json', () => {
    const r = adpipe('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  });
});

describe('an ingest that accepts nothing, and the dead letters it leaves', () => {
  const dir = makeTempDir('cli-rejected');
  const dataDir = path.join(dir, 'data');
  const file = path.join(dir, 'bad.jsonl');
  let ingest: ReturnType<typeof adpipe>;

  beforeAll(() => {
    const lines = [
      ...Array.from({ length: 3 }, (_, i) => line({ event_id: `neg${i}`, revenue: '-1' })),
      ...Array.from({ length: 2 }, (_, i) => line({ event_id: `local${i}`, ts: '2026-12-01T10:00:00' })),
      line({ ts: '2026-12-01T10:00:00Z' }),
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    ingest = adpipe('ingest', file, '-d', dataDir);
  }, 60_000);

  it('exits 4 with the reasons, most frequent first, and where the dead letters are', () => {
    expect(ingest.status).toBe(4);
    expect(ingest.stdout).toContain('events accepted 0 / duplicates 0 / rejected 6');
    const reasons = ingest.stdout.slice(ingest.stdout.indexOf('rejected by reason:'));
    expect(reasons).toMatch(/3 {2}money\.negative +\(e\.g\. revenue: a money field must be >= 0\)/);
    expect(reasons.indexOf('money.negative')).toBeLessThan(reasons.indexOf('ts.no_offset'));
    expect(reasons).toContain('event_id.missing');
    expect(ingest.stdout).toContain(
      `dead letters: ${path.join(dataDir, 'deadletter')} (adpipe deadletter list --batch 1)`,
    );
    expect(ingest.stderr).toContain('no event was accepted from this input');
  });

  it('deadletter list counts them by reason, as a table or JSON, filtered by code or batch', () => {
    const table = adpipe('deadletter', 'list', '-d', dataDir);
    expect(table.status).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^count {2}code +example$/);
    expect(table.stdout).toMatch(/ {4}3 {2}money\.negative +revenue: a money field must be >= 0/);
    const json = JSON.parse(adpipe('deadletter', 'list', '--format', 'json', '-d', dataDir).stdout);
    expect(json.map((c: { code: string; count: number }) => [c.code, c.count])).toEqual([
      ['money.negative', 3],
      ['ts.no_offset', 2],
      ['event_id.missing', 1],
    ]);
    const one = JSON.parse(
      adpipe('deadletter', 'list', '--code', 'ts.no_offset', '--format', 'json', '-d', dataDir).stdout,
    );
    expect(one).toHaveLength(1);
    expect(adpipe('deadletter', 'list', '--batch', '2', '-d', dataDir).stdout).toContain(
      'no rejected records',
    );
  });

  it('deadletter show gives each record with its reason, source line and original text', () => {
    const r = adpipe('deadletter', 'show', '--code', 'ts.no_offset', '--batch', '1', '-d', dataDir);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`batch 1  ${file}:4  ts.no_offset  ts: `);
    expect(r.stdout).toContain(`  ${line({ event_id: 'local0', ts: '2026-12-01T10:00:00' })}`);
    const json = JSON.parse(
      adpipe('deadletter', 'show', '--limit', '2', '--format', 'json', '-d', dataDir).stdout,
    );
    expect(json).toHaveLength(2);
    expect(json[0]).toMatchObject({ batch_id: 1, source: file, line: 1, code: 'money.negative' });
    expect(JSON.parse(json[0].text)).toMatchObject({ event_id: 'neg0', revenue: '-1' });
  });

  it('a usable input accepts and exits 0', () => {
    const good = path.join(dir, 'good.jsonl');
    writeFileSync(
      good,
      `${line({ event_id: 'ok1', revenue: '0.002' })}\n${line({ event_id: 'bad', revenue: '-1' })}\n`,
    );
    const r = adpipe('ingest', good, '-d', dataDir);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('events accepted 1 / duplicates 0 / rejected 1');
    expect(r.stdout).toContain('adpipe deadletter list --batch 2');
  });
});

describe('failures that name the next step', () => {
  it('a port in use: ADP_ERR_HTTP_PORT_IN_USE with the way out, no stack', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            path.join(root, 'bin/adpipe.js'),
            'serve',
            '--port',
            String(port),
            '--host',
            '127.0.0.1',
            '-d',
            makeTempDir('cli-port'),
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
        });
        child.on('exit', (status) => resolve({ status, stderr }));
      });
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(
        `adpipe: ADP_ERR_HTTP_PORT_IN_USE: port ${port} on 127.0.0.1 is in use: use --port or stop the other process`,
      );
    } finally {
      busy.close();
    }
  }, 60_000);

  it('no data yet: ADP_ERR_WAREHOUSE_NO_DATA says to run adpipe ingest first, and creates nothing', () => {
    const empty = path.join(makeTempDir('cli-empty'), 'data');
    for (const args of [
      ['report', 'media'],
      ['query', 'SELECT 1'],
      ['deadletter', 'list'],
    ]) {
      const r = adpipe(...args, '-d', empty);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(
        `adpipe: ADP_ERR_WAREHOUSE_NO_DATA: no data in ${empty} yet: run adpipe ingest first`,
      );
    }
    expect(spawnSync('ls', [empty]).status).not.toBe(0);
  });
});

describe('report --help', () => {
  it("lists every report's dimensions, measures and metrics from the report model", () => {
    const r = adpipe('report', '--help');
    expect(r.status).toBe(0);
    for (const report of REPORTS) {
      const block = r.stdout.slice(r.stdout.indexOf(`  ${report.name}: ${report.title}`));
      expect(block).toContain(
        `dimensions: ${rollupDimensions(report)
          .map((d) => d.name)
          .join(', ')}`,
      );
      expect(block).toContain(`measures:   ${report.measures.map((m) => m.name).join(', ')}`);
    }
  });
});

describe('log lines', () => {
  it('are JSON when stderr is not a terminal, one short human line on a terminal', () => {
    const dir = makeTempDir('cli-log');
    writeFileSync(path.join(dir, 'one.jsonl'), `${line({ event_id: 'one' })}\n`);
    const r = adpipeWith('info', 'ingest', path.join(dir, 'one.jsonl'), '-d', path.join(dir, 'data'));
    expect(r.status).toBe(0);
    const logged = r.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; component: string });
    expect(logged).toContainEqual(expect.objectContaining({ component: 'loader', msg: 'batch committed' }));
    const pretty = prettyLine(
      JSON.stringify({
        level: 40,
        time: Date.UTC(2026, 0, 1, 12, 0, 1),
        app: 'adpipe',
        component: 'loader',
        msg: 'file set aside',
        file: 'a.gz',
        reason: 'cut off',
      }),
    );
    expect(pretty).toMatch(/^\d\d:\d\d:\d\d warn loader: file set aside file=a\.gz reason=cut off\n$/);
  });
});
