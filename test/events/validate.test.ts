// The contract cases through the JS validator (the HTTP collector's path).

import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../src/events/validate.js';
import { CONTRACT_CASES, expectedOutcome, jsOutcome } from './contract-cases.js';

describe('JS validator on the contract cases', () => {
  it.each(CONTRACT_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(jsOutcome(c.text)).toEqual(expectedOutcome(c));
  });

  it('validateEvent takes parsed records and reports the rule', () => {
    const v = validateEvent({ event_id: 'a', type: 'click', ts: 1767225600, revenue: '-1' });
    expect(v).toEqual({
      ok: false,
      rejection: { code: 'money.negative', field: 'revenue', message: 'revenue: a money field must be >= 0' },
    });
  });
});
