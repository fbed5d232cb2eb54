// The feed payload parser: JSON and Python data literals, never evaluated.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { literalToJson, NumberText, parseLiteral } from '../../../src/sources/feed/py-literal.js';

/** What JSON.parse makes of our JSON text: the value the parser saw. */
const asJson = (text: string): unknown => JSON.parse(literalToJson(parseLiteral(text)));

/** Python's repr() of a JSON value, with the liberties Python allows (quotes, spaces, trailing commas). */
function pyRepr(v: unknown, style: { quote: "'" | '"'; trailing: boolean; tuple: boolean }): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    const escaped = [...v]
      .map((c) => {
        if (c === '\\' || c === style.quote) return `\\${c}`;
        const cp = c.codePointAt(0) as number;
        if (cp < 0x20) return `\\x${cp.toString(16).padStart(2, '0')}`;
        return c;
      })
      .join('');
    return `${style.quote}${escaped}${style.quote}`;
  }
  const tail = style.trailing ? ', ' : '';
  if (Array.isArray(v)) {
    const inner = v.map((x) => pyRepr(x, style)).join(', ');
    if (style.tuple && v.length > 0) return `(${inner}${v.length === 1 ? ',' : tail})`;
    return `[${inner}${v.length ? tail : ''}]`;
  }
  const entries = Object.entries(v as object).map(([k, x]) => `${pyRepr(k, style)}: ${pyRepr(x, style)}`);
  return `{${entries.join(', ')}${entries.length ? tail : ''}}`;
}

describe('parseLiteral', () => {
  it('reads any JSON document as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        expect(asJson(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it("reads Python's repr of the same values, any quotes, tuples and trailing commas", () => {
    const style = fc.record({
      quote: fc.constantFrom("'" as const, '"' as const),
      trailing: fc.boolean(),
      tuple: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.jsonValue(), style, (v, s) => {
        const expected = JSON.parse(JSON.stringify(v));
        expect(asJson(pyRepr(v, s))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("reads seed 003's payload shape", () => {
    const text =
      "{'recordId': 7, 'ArrayOfPerson': None, 'user_id': '3a5e0c7b1f2d4e8a9b6c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c', 'method': 'POST', 'url': '/api/products/product/', 'inDate': '2022-08-30T10:06:48.123Z', 'ok': True, 'revenue': 0.10000000000000000001,}";
    expect(literalToJson(parseLiteral(text))).toBe(
      '{"recordId":7,"ArrayOfPerson":null,"user_id":"3a5e0c7b1f2d4e8a9b6c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c","method":"POST","url":"/api/products/product/","inDate":"2022-08-30T10:06:48.123Z","ok":true,"revenue":0.10000000000000000001}',
    );
  });

  it('keeps numbers as written, in JSON grammar (money never goes through a double)', () => {
    expect(parseLiteral('12345678901234567890.123456')).toEqual(
      new NumberText('12345678901234567890.123456'),
    );
    const cases: Array<[string, string]> = [
      ['1_000', '1000'],
      ['+5', '5'],
      ['.5', '0.5'],
      ['5.', '5.0'],
      ['5.e3', '5.0e3'],
      ['-007', '-7'],
      ['1E-3', '1E-3'],
    ];
    for (const [input, text] of cases) expect(parseLiteral(input)).toEqual(new NumberText(text));
  });

  it("decodes Python's and JSON's escapes", () => {
    expect(parseLiteral(String.raw`'a\'b\"c\\d\n\t\x41\101\u00e9\U0001F600\q'`)).toBe(
      'a\'b"c\\d\n\tAAé😀\\q',
    );
    expect(parseLiteral(String.raw`"\ud83d\ude00 \/"`)).toBe('😀 /');
    expect(parseLiteral('(1)')).toEqual(new NumberText('1'));
    expect(parseLiteral('(1,)')).toEqual([new NumberText('1')]);
    expect(parseLiteral('()')).toEqual([]);
    expect(parseLiteral('{1: 2}')).toEqual({ 1: new NumberText('2') });
    expect(Object.keys(parseLiteral('{"__proto__": 1}') as object)).toEqual(['__proto__']);
  });

  const refused: Array<[string, RegExp]> = [
    ["__import__('os').system('id')", /name '__import__' is not a literal/],
    ["open('/etc/passwd')", /name 'open'/],
    ["{'a': foo}", /name 'foo'/],
    ['lambda: 1', /name 'lambda'/],
    ['1 + 1', /unexpected text after the value/],
    ['-x', /expected a value/],
    ["{'a': 1", /expected ',' or '}'/],
    ["{'a' 1}", /expected ':'/],
    ['{1, 2}', /expected ':'/],
    ["b'x'", /name 'b'/],
    ['1j', /not a plain number/],
    ['0x10', /not a plain number/],
    ['1.2.3', /not a plain number/],
    ["'a' 'b'", /unexpected text/],
    ["'abc", /unterminated string/],
    ['"\\x4"', /bad \\x escape/],
    ["{['a']: 1}", /dict key must be a string or a number/],
    ['', /expected a value/],
    ['[1,,2]', /expected a value/],
    [`${'['.repeat(100)}${']'.repeat(100)}`, /nesting deeper than 64/],
  ];
  it.each(refused)('refuses %s', (text, reason) => {
    expect(() => parseLiteral(text)).toThrow(reason);
    try {
      parseLiteral(text);
    } catch (err) {
      expect((err as { code: string }).code).toBe('ADP_ERR_SOURCE_FEED_PAYLOAD');
    }
  });

  it('never throws anything but its own error, and never hangs, on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseLiteral(text);
        } catch (err) {
          expect((err as { code: string }).code).toBe('ADP_ERR_SOURCE_FEED_PAYLOAD');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('gives key-order-independent canonical JSON with sortKeys', () => {
    expect(literalToJson(parseLiteral("{'b': 1, 'a': [2, {'d': 3, 'c': 4}]}"), true)).toBe(
      '{"a":[2,{"c":4,"d":3}],"b":1}',
    );
  });
});
