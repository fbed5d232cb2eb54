// Seeded random event lines for the validator equivalence tests: values that pass (each pool's
// first, picked most often, so many lines are valid) mixed with values that break each kind of rule
// or take a slower path (case folding, leading zeros, non-ASCII, escapes, an unknown field).

const POOLS: Record<string, string[]> = {
  event_id: ['e-1', '', 'x'.repeat(128), 'x'.repeat(129), '한글-id', 'q"uote'],
  type: ['impression', 'click', 'CLICK', 'custom', 'bogus', ''],
  name: ['feature.open', '', 'n'.repeat(300)],
  ts: ['2026-03-01T10:00:00.000Z', '2026-02-30T10:00:00.000Z', '2026-03-01T10:00:00Z', '1767225600', 'soon'],
  media_id: ['m-1', '', 'm'.repeat(129)],
  device: ['MOBILE', 'mobile', 'Mobile', 'TOASTER', ''],
  app_type: ['WEB', 'ios', 'Aos', 'x'],
  city: ['Seoul', '서울', '', 'c'.repeat(1000), 'tab\there'],
  revenue: ['0', '0.5', '1.1234567', '-1', '1e3', '000012.50', '00000000000000012.5', 'abc', ''],
  cost: ['0.000001', '9999999999999', '999999999.999999', '999999999999.999999', ''],
  campaign: ['summer', ''],
};

/** `count` JSON lines, the same ones for the same seed. */
export function generatedLines(count: number, seed = 7): string[] {
  // mulberry32: integer arithmetic only, so the sequence is the same everywhere.
  const rand = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const lines: string[] = [];
  for (let k = 0; k < count; k++) {
    const rec: Record<string, string> = {};
    for (const [field, values] of Object.entries(POOLS)) {
      // The unknown field `campaign` only now and then.
      if (field === 'campaign' ? rand(8) === 0 : rand(3) > 0)
        rec[field] = rand(3) > 0 ? values[0]! : values[rand(values.length)]!;
    }
    // Ids unique per line, so a batch of them keeps every valid one.
    if (rec.event_id === 'e-1') rec.event_id = `e-${k}`;
    lines.push(JSON.stringify(rec));
  }
  return lines;
}
