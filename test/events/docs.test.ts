// docs/events.md must not drift from the code: every rejection code and every contract field is documented.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KNOWN_FIELDS } from '../../src/events/contract.js';
import { REJECT_REASONS } from '../../src/events/reasons.js';
import { CONTRACT_CASES } from './contract-cases.js';

const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
const codeSection = doc.slice(doc.indexOf('## Rejection codes'));
const codeRows = new Set([...codeSection.matchAll(/^\| `([a-z_]+\.[a-z_]+)` \|/gm)].map((m) => m[1]));

it('has a Rejection codes section', () => {
  expect(doc).toContain('## Rejection codes');
});

describe('docs/events.md', () => {
  it.each(Object.keys(REJECT_REASONS))('lists the rejection code %s in the code table', (code) => {
    expect(codeRows.has(code)).toBe(true);
  });

  it('lists no code that reasons.ts does not have', () => {
    expect([...codeRows].filter((c) => !(c in REJECT_REASONS))).toEqual([]);
  });

  it.each(KNOWN_FIELDS)('documents the field %s', (field) => {
    expect(doc).toContain(`\`${field}\``);
  });
});

describe('contract cases', () => {
  // A mapping's own codes are exercised by the mapping cases (mapping.test.ts).
  const contractCodes = Object.keys(REJECT_REASONS).filter((c) => !c.startsWith('mapping.'));
  it.each(contractCodes)('exercise the rejection code %s', (code) => {
    expect(CONTRACT_CASES.some((c) => 'reject' in c.expect && c.expect.reject.startsWith(`${code}@`))).toBe(
      true,
    );
  });

  it('have unique names', () => {
    expect(new Set(CONTRACT_CASES.map((c) => c.name)).size).toBe(CONTRACT_CASES.length);
  });
});
