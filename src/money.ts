// Money, the one home for it: amounts are integer micros (millionths, bigint) in JS and DECIMAL(_,6)
// in SQL, never floats. Texts are what the contract normalises money to ('12.500000', see
// parseMoney in events/validate.ts) and what DECIMAL columns read as; this module turns them into
// micros and back, and sums and divides micros exactly.

/** Micros in one unit. */
export const MICROS = 1_000_000n;
/** Decimal places of money everywhere (the contract's MONEY_SCALE). */
const SCALE = 6;

const MONEY_TEXT = /^(-?)(\d*)(?:\.(\d*))?$/;

/**
 * Integer micros of a plain decimal text: an optional '-', digits, an optional point and fraction
 * ('12', '-0.5', '.25', '3.100000000'). More than 6 significant decimals throws, as the contract
 * rejects them (`money.scale`): nothing is rounded away. No exponent, sign '+' or blanks.
 */
export function parseMicros(text: string): bigint {
  const m = MONEY_TEXT.exec(text);
  const int = m?.[2] ?? '';
  const frac = (m?.[3] ?? '').replace(/0+$/, '');
  if (!m || (int === '' && !m[3]) || frac.length > SCALE)
    throw new Error(`not a decimal with at most ${SCALE} decimals: ${JSON.stringify(text)}`);
  const units = BigInt(int || '0') * MICROS + BigInt(frac.padEnd(SCALE, '0'));
  return m[1] ? -units : units;
}

/** Decimal text with exactly 6 decimals, '-' before a negative: 1_500_000n -> '1.500000'. */
export function formatMicros(micros: bigint | number): string {
  // BigInt() throws on a fractional number: micros are whole.
  const v = BigInt(micros);
  const abs = v < 0n ? -v : v;
  return `${v < 0n ? '-' : ''}${abs / MICROS}.${(abs % MICROS).toString().padStart(SCALE, '0')}`;
}

/** The exact sum of money texts, in micros. */
export function sumMicros(texts: Iterable<string>): bigint {
  let sum = 0n;
  for (const t of texts) sum += parseMicros(t);
  return sum;
}

/**
 * num / den rounded to a whole number: `half-up` takes a half away from zero (an average shown to
 * people), `half-even` to the even neighbour (shares, as the reports' SQL rounds them).
 */
export function divRound(num: bigint, den: bigint, rounding: 'half-up' | 'half-even'): bigint {
  if (den === 0n) throw new RangeError('division by zero');
  const negative = num < 0n !== den < 0n;
  const [n, d] = [num < 0n ? -num : num, den < 0n ? -den : den];
  let q = n / d;
  const twice = (n % d) * 2n;
  if (twice > d || (twice === d && (rounding === 'half-up' || q % 2n === 1n))) q += 1n;
  return negative ? -q : q;
}

/** DuckDB: a money (DECIMAL) expression as exact integer micros (HUGEINT). */
export const microsSql = (money: string) => `((${money}) * 1000000)::HUGEINT`;

/** DuckDB: an integer micros expression back to money, DECIMAL(38,6). */
export const moneySql = (micros: string) => `((${micros})::DECIMAL(38,0) * 0.000001)::DECIMAL(38,6)`;

/** DuckDB: a non-negative DECIMAL expression rounded half-even to money, DECIMAL(38,6) (a share of revenue). */
export function roundHalfEvenSql(x: string): string {
  const scaled = `((${x}) * 1000000)`;
  return `(CASE WHEN ${scaled} - floor(${scaled}) = 0.5 AND CAST(floor(${scaled}) AS HUGEINT) % 2 = 0
    THEN floor(${scaled}) / 1000000 ELSE round(${x}, 6) END)::DECIMAL(38,6)`;
}
