import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AdpipeError, ERRORS } from '../../src/errors.js';

const doc = readFileSync('docs/errors.md', 'utf8');

describe('error registry', () => {
  it('docs/errors.md lists every code with its HTTP status, and no code that does not exist', () => {
    const documented = Object.fromEntries(
      [...doc.matchAll(/^\| `(ADP_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]),
    );
    const declared = Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status]));
    expect(documented).toEqual(declared);
  });

  it('lists codes under the heading of their stage, in the order of src/errors.ts', () => {
    const sections = doc.split(/^### /m).slice(1);
    const order = sections.flatMap((s) => [...s.matchAll(/^\| `(ADP_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));
    expect(order).toEqual(Object.keys(ERRORS));
    const stage = (heading: string) => sections.find((s) => s.startsWith(heading))!;
    for (const [prefix, heading] of [
      ['ADP_ERR_SOURCE_', 'Sources'],
      ['ADP_ERR_COLLECTOR_', 'Collector'],
      ['ADP_ERR_WAREHOUSE_', 'Warehouse'],
      ['ADP_ERR_QUERY_', 'Reports and SQL queries'],
      ['ADP_ERR_SINK_', 'Sinks'],
      ['ADP_ERR_MODEL_', 'Analyses and trained models'],
      ['ADP_ERR_HTTP_', 'Server'],
    ] as const)
      for (const code of Object.keys(ERRORS).filter((c) => c.startsWith(prefix)))
        expect(stage(heading), code).toContain(`\`${code}\``);
  });

  it('maps every renamed code to a code that exists, and never reuses an old one', () => {
    const renamed = [...doc.matchAll(/^\| (ADP_ERR_[A-Z_]+) \| `(ADP_ERR_[A-Z_]+)` \|$/gm)];
    expect(renamed.length).toBeGreaterThan(20);
    for (const [, before, after] of renamed) {
      expect(Object.keys(ERRORS)).not.toContain(before);
      expect(Object.keys(ERRORS)).toContain(after);
    }
  });

  it('fills message templates in order and answers with code and status', () => {
    const err = new AdpipeError('ADP_ERR_WAREHOUSE_LOCKED', ['/data', 42, 'wait until it ends']);
    expect(err.message).toBe(
      'the data dir /data is held by another adpipe process (pid 42): wait until it ends',
    );
    expect(err.status).toBe(409);
    expect(err.toJSON()).toEqual({ error: { code: 'ADP_ERR_WAREHOUSE_LOCKED', message: err.message } });
  });

  it('uses only HTTP error statuses', () => {
    for (const { status } of Object.values(ERRORS)) expect(status >= 400 && status < 600).toBe(true);
  });
});
