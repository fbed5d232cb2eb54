// Reference distributions for the statistics tests, independent of @stdlib: Simpson's rule over
// the densities (accurate to far better than the 1e-6 the tests ask for).

function simpson(f: (x: number) => number, a: number, b: number, n = 200_000): number {
  const h = (b - a) / n;
  let s = f(a) + f(b);
  for (let i = 1; i < n; i++) s += f(a + i * h) * (i % 2 ? 4 : 2);
  return (s * h) / 3;
}

/** Two-sided p of a standard normal statistic. */
export function normalTwoSidedP(z: number): number {
  const pdf = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  return 1 - 2 * simpson(pdf, 0, Math.abs(z));
}

/** Two-sided p of a Student t statistic with df degrees of freedom (df > 2). */
export function tTwoSidedP(t: number, df: number): number {
  const kernel = (x: number) => (1 + (x * x) / df) ** (-(df + 1) / 2);
  const half = simpson(kernel, 0, 400, 400_000);
  return 1 - simpson(kernel, 0, Math.abs(t)) / half;
}
