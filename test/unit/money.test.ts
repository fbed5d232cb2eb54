import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMoney } from '../../src/events/validate.js';
import {
  divRound,
  formatMicros,
  MICROS,
  microsSql,
  moneySql,
  parseMicros,
  roundHalfEvenSql,
  sumMicros,
} from '../../src/money.js';

const BEYOND_2_53 = 2n ** 53n + 1n;
const abs = (x: bigint) => (x < 0n ? -x : x);
/** A non-negative decimal text with up to 12 decimals in 10^-12 units. */
const picos = (text: string) => {
  const [int, frac = ''] = text.split('.');
  return BigInt(int!) * 10n ** 12n + BigInt(frac.padEnd(12, '0'));
};

describe('parseMicros', () => {
  it.each([
    ['0', 0n],
    ['12', 12_000_000n],
    ['12.5', 12_500_000n],
    ['0.000001', 1n],
    ['-0.000001', -1n],
    ['-3', -3_000_000n],
    ['.25', 250_000n],
    ['7.', 7_000_000n],
    ['1.500000000', 1_500_000n],
    ['999999999.999999', 999_999_999_999_999n],
    ['9007199254.740993', BEYOND_2_53],
    ['123456789012345678901234567890.123456', 123456789012345678901234567890_123456n],
  ])('%s is %s micros', (text, micros) => {
    expect(parseMicros(text)).toBe(micros);
  });

  it.each(['', '-', '.', '1.0000001', '0.1234567', '1e6', '+1', ' 1', '1 ', '1,5', '--1', 'NaN', '0x10'])(
    'refuses %j (nothing is rounded away)',
    (text) => {
      expect(() => parseMicros(text)).toThrow(/at most 6 decimals/);
    },
  );

  it('reads every text the contract normalises money to', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 999_999_999_999_999n }), (m) => {
        const text = parseMoney(formatMicros(m), 'revenue');
        expect(parseMicros(text)).toBe(m);
      }),
    );
  });
});

describe('formatMicros', () => {
  it.each([
    [0n, '0.000000'],
    [45, '0.000045'],
    [1_500_000n, '1.500000'],
    [-1n, '-0.000001'],
    [-12_340_000n, '-12.340000'],
    [BEYOND_2_53, '9007199254.740993'],
  ])('%s is %s', (micros, text) => {
    expect(formatMicros(micros)).toBe(text);
  });

  it('refuses a fraction of a micro', () => {
    expect(() => formatMicros(1.5)).toThrow();
  });

  it('round-trips with parseMicros', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (m) => {
        expect(parseMicros(formatMicros(m))).toBe(m);
      }),
    );
  });
});

describe('sumMicros', () => {
  it('sums exactly where doubles do not', () => {
    const texts = ['0.100000', '0.200000', '9007199254.740993', '-0.300000'];
    expect(sumMicros(texts)).toBe(BEYOND_2_53);
    expect(sumMicros([])).toBe(0n);
    expect(0.1 + 0.2 - 0.3).not.toBe(0);
  });
});

describe('divRound', () => {
  it.each([
    [5n, 2n, 3n, 2n],
    [7n, 2n, 4n, 4n],
    [-5n, 2n, -3n, -2n],
    [5n, -2n, -3n, -2n],
    [10n, 4n, 3n, 2n],
    [11n, 4n, 3n, 3n],
    [9n, 4n, 2n, 2n],
    [1n, 3n, 0n, 0n],
    [2n, 3n, 1n, 1n],
    [-1n, 3n, 0n, 0n],
    [BEYOND_2_53 * 2n + 1n, 2n, BEYOND_2_53 + 1n, BEYOND_2_53 + 1n],
  ])('%s / %s is %s half up, %s half even', (num, den, up, even) => {
    expect(divRound(num, den, 'half-up')).toBe(up);
    expect(divRound(num, den, 'half-even')).toBe(even);
  });

  it('agrees with exact rational rounding', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        (n, d) => {
          const q = divRound(n, d, 'half-up');
          // |n/d - q| <= 1/2, and exactly 1/2 only away from zero.
          const diff = n * 2n - q * 2n * d;
          expect(diff <= d && diff >= -d).toBe(true);
          if (abs(diff) === d) expect(abs(q) * d > abs(n)).toBe(true);
        },
      ),
    );
  });

  it('refuses a zero denominator', () => {
    expect(() => divRound(1n, 0n, 'half-up')).toThrow(RangeError);
  });
});

describe('DuckDB money SQL', () => {
  it('turns DECIMAL money into HUGEINT micros and back, exactly beyond 2^53', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const money = '9007199254.740993';
      const reader = await conn.runAndReadAll(
        `SELECT ${microsSql(`'${money}'::DECIMAL(38,6)`)} AS micros,
          ${moneySql(`${microsSql(`'${money}'::DECIMAL(38,6)`)} * 3`)}::VARCHAR AS tripled`,
      );
      const [row] = reader.getRowObjectsJS();
      expect(row!.micros).toBe(BEYOND_2_53);
      expect(parseMicros(row!.tripled as string)).toBe(BEYOND_2_53 * 3n);
      expect(BEYOND_2_53 * 3n).toBe(parseMicros(money) * 3n);
      expect(MICROS).toBe(1_000_000n);
      // Half-even at the 7th decimal, as divRound's half-even in JS.
      const cases = ['0.0000005', '0.0000015', '0.0000025', '1.2345675', '1.2345665', '2.00000049', '7.5'];
      const rounded = await conn.runAndReadAll(
        `SELECT ${cases.map((c, i) => `${roundHalfEvenSql(`${c}::DECIMAL(24,12)`)}::VARCHAR AS c${i}`).join(', ')}`,
      );
      expect(rounded.getRowsJS()[0]).toEqual(
        cases.map((c) => formatMicros(divRound(picos(c), MICROS, 'half-even'))),
      );
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});
