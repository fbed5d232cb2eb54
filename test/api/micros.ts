/** Exact decimal strings with 6 digits → integer micros, for exact sums in assertions. */
export function micros(decimal: string | number | null | undefined): bigint {
  const [int = '0', frac = ''] = String(decimal ?? '0').split('.');
  const sign = int.startsWith('-') ? -1n : 1n;
  return sign * (BigInt(int.replace('-', '')) * 1_000_000n + BigInt(frac.padEnd(6, '0')));
}
