import { describe, expect, it } from 'vitest';
import { previousRange, resolveRequest } from '../../src/reports/query.js';
import { isCalendarDate, localMidnightMs } from '../../src/util/zoned.js';

describe('previousRange', () => {
  it('is the same number of whole days before a period that has ended', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(previousRange('2026-11-29', '2026-12-05', 'UTC', now)).toEqual({
      from: '2026-11-22',
      to: '2026-11-28',
    });
  });

  it('cuts the previous period at the elapsed time of a running one', () => {
    // 09:30 in Seoul on 2026-12-06: the day has 9.5 hours, and so does the day before.
    const now = Date.parse('2026-12-06T00:30:00Z');
    expect(previousRange('2026-12-06', '2026-12-06', 'Asia/Seoul', now)).toEqual({
      from: '2026-12-05',
      to: '2026-12-05',
      before: '2026-12-05T00:30:00.000Z',
    });
    // A week running for 2 days and 9.5 hours: the week before up to the same point.
    expect(previousRange('2026-12-04', '2026-12-10', 'Asia/Seoul', now).before).toBe(
      '2026-11-29T00:30:00.000Z',
    );
  });

  it('cuts at the newest event when the data of a running period ends before now', () => {
    const now = Date.parse('2026-12-06T00:50:00Z');
    const newest = Date.parse('2026-12-06T00:00:00Z');
    expect(previousRange('2026-12-06', '2026-12-06', 'Asia/Seoul', now, newest).before).toBe(
      '2026-12-05T00:00:00.000Z',
    );
  });

  it('keeps the elapsed time, not the wall-clock hour, across a change of offset', () => {
    // 2026-03-09 03:00 in New York (EDT since 2026-03-08): 3 hours into the day; the day before
    // began at 05:00Z (EST), so it is cut 3 hours later, at 08:00Z.
    const now = Date.parse('2026-03-09T07:00:00Z');
    expect(previousRange('2026-03-09', '2026-03-09', 'America/New_York', now).before).toBe(
      '2026-03-08T08:00:00.000Z',
    );
  });
});

describe('localMidnightMs', () => {
  it('finds local midnight in zones with odd offsets and on offset changes', () => {
    expect(new Date(localMidnightMs('2026-12-06', 'Pacific/Chatham')).toISOString()).toBe(
      '2026-12-05T10:15:00.000Z',
    );
    expect(new Date(localMidnightMs('2026-03-08', 'America/New_York')).toISOString()).toBe(
      '2026-03-08T05:00:00.000Z',
    );
    expect(new Date(localMidnightMs('2026-03-09', 'America/New_York')).toISOString()).toBe(
      '2026-03-09T04:00:00.000Z',
    );
  });
});

describe('report dates', () => {
  it('refuses a date the calendar does not have, which Date.parse would roll into March', () => {
    expect(isCalendarDate('2025-02-28')).toBe(true);
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2025-02-29')).toBe(false);
    expect(() => resolveRequest({ report: 'media', from: '2025-02-30' })).toThrow(/from.*YYYY-MM-DD/);
  });
});
