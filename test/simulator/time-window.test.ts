import { describe, expect, it } from 'vitest';
import { startEndingNow } from '../../src/simulator/options.js';
import { HOUR_MS, localWeekday, makePlan } from '../../src/simulator/traffic.js';

describe('the time window and its weekly shape', () => {
  it('ends a window at the start of the current hour', () => {
    const now = Date.parse('2026-12-06T20:37:12Z');
    expect(startEndingNow(336, now)).toBe('2026-11-22T20:00:00.000Z');
  });

  it('counts local weekdays from Sunday', () => {
    // 2026-12-06 is a Sunday: 23:00 UTC is already Monday in Seoul (+9), still Sunday in New York (-5).
    const t = Date.parse('2026-12-06T23:00:00Z');
    expect(localWeekday(t, 0)).toBe(0);
    expect(localWeekday(t, 9)).toBe(1);
    expect(localWeekday(t, -5)).toBe(0);
  });

  it('gives weekend days more traffic than early weekdays', () => {
    const start = Date.parse('2026-11-23T00:00:00Z'); // a Monday
    const plan = makePlan(start, 14 * 24, 1_000_000, 1);
    const day = (d: number) => plan.hourBudget.slice(d * 24, d * 24 + 24).reduce((a, b) => a + b, 0);
    const [monday, saturday] = [day(0), day(5)];
    expect(saturday / monday).toBeGreaterThan(1.15);
    // The same weekday a week apart gets the same budget, give or take rounding.
    expect(Math.abs(day(7) - monday)).toBeLessThan(30);
    expect(plan.startMs + plan.hours * HOUR_MS).toBe(start + 14 * 86_400_000);
  });
});
