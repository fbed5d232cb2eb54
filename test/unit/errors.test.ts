import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AdpipeError, ERRORS } from '../../src/errors.js';

describe('error registry', () => {
  it('documents every code in docs/errors.md, and no code that does not exist', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    const documented = [...doc.matchAll(/`(ADP_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]);
    expect(new Set(documented)).toEqual(new Set(Object.keys(ERRORS)));
  });

  it('fills message templates in order and answers with code and status', () => {
    const err = new AdpipeError('ADP_ERR_LOCKED', ['/data', 42]);
    expect(err.message).toBe('another adpipe run holds the lock on /data (pid 42)');
    expect(err.status).toBe(409);
    expect(err.toJSON()).toEqual({ error: { code: 'ADP_ERR_LOCKED', message: err.message } });
  });

  it('uses only HTTP error statuses', () => {
    for (const { status } of Object.values(ERRORS)) expect(status >= 400 && status < 600).toBe(true);
  });
});
