// plainLineEvent reads a plain line without JSON.parse. Whatever it accepts must be exactly what
// JSON.parse followed by validateEvent gives for that line, and whatever is not plain it must leave
// to them (undefined), never answer otherwise.

import { describe, expect, it } from 'vitest';
import { plainLineEvent, validateEvent } from '../../src/events/validate.js';
import { CONTRACT_CASES } from './contract-cases.js';
import { generatedLines } from './generated-lines.js';

function viaJsonParse(text: string) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = validateEvent(parsed);
  return v.ok ? v.event : undefined;
}

const BASE = {
  event_id: 'e-1',
  type: 'impression',
  ts: '2026-03-01T10:00:00.000Z',
  media_id: 'm-1',
  device: 'MOBILE',
  country: 'KR',
  revenue: '0.0021',
};
const line = (rec: Record<string, unknown>) => JSON.stringify(rec);

describe('plainLineEvent', () => {
  it('agrees with JSON.parse + validateEvent on every contract case it takes', () => {
    let taken = 0;
    for (const c of CONTRACT_CASES) {
      const ev = plainLineEvent(c.text);
      if (ev === undefined) continue;
      taken++;
      expect(ev, c.name).toEqual(viaJsonParse(c.text));
    }
    expect(taken).toBeGreaterThan(0);
  });

  it('reads a compact line of canonical string fields', () => {
    const ev = plainLineEvent(line(BASE));
    expect(ev).toEqual(viaJsonParse(line(BASE)));
    expect(ev).toMatchObject({ event_id: 'e-1', revenue: '0.002100', props: null, org_id: null });
  });

  it.each([
    ['a key given twice', '{"event_id":"a","type":"click","ts":"2026-03-01T10:00:00.000Z","event_id":"b"}'],
    ['an alias', line({ ...BASE, type: undefined, event_type: 'click' })],
    ['an unknown field', line({ ...BASE, campaign: 'x' })],
    ['a space after a colon', line(BASE).replace('"type":', '"type": ')],
    ['an escape', line({ ...BASE, city: 'Se"oul' })],
    ['a raw control character', line(BASE).replace('KR', 'K\tR')],
    ['a number', line({ ...BASE, revenue: 0.5 })],
    ['a null', line({ ...BASE, os: null })],
    ['a nested object', line({ ...BASE, os: { name: 'ios' } })],
    ['a trailing CR', `${line(BASE)}\r`],
    ['leading space', ` ${line(BASE)}`],
    ['an array', `[${line(BASE)}]`],
    ['a lone brace', '{'],
    ['an unclosed value', '{"event_id":"a}'],
    ['text after the object', `${line(BASE)}x}`],
  ])('leaves %s to JSON.parse', (_name, text) => {
    expect(plainLineEvent(text)).toBeUndefined();
  });

  it('agrees with JSON.parse + validateEvent on generated lines, valid and not', () => {
    let taken = 0;
    for (const text of generatedLines(3000)) {
      const ev = plainLineEvent(text);
      if (ev === undefined) continue;
      taken++;
      expect(ev, text).toEqual(viaJsonParse(text));
    }
    expect(taken).toBeGreaterThan(100);
  });
});
