// Audiences: K-means finds three planted, well-separated user groups with their sizes and exact
// averages, and gives the same clusters for the same seed.
import { beforeAll, describe, expect, it } from 'vitest';
import { kMeans } from '../../src/analyses/kmeans.js';
import { analyze, lakeOf, type TestEvent } from './lake.js';

const ts = (minute: number) => `2025-02-03T10:${String(minute % 60).padStart(2, '0')}:00Z`;

/** n users named prefix-i, each with the given events. */
function group(prefix: string, n: number, events: Array<[string, number, string?]>): TestEvent[] {
  return Array.from({ length: n }, (_, i) =>
    events.flatMap(([type, count, revenue]) =>
      Array.from({ length: count }, (_, j) => ({
        user_id: `${prefix}-${i}`,
        type,
        ts: ts(j),
        ...(revenue ? { revenue } : {}),
      })),
    ),
  ).flat();
}

let dataDir: string;
beforeAll(async () => {
  dataDir = await lakeOf('an-audiences', [
    ...group('viewer', 10, [['impression', 1]]),
    ...group('clicker', 6, [
      ['impression', 30],
      ['click', 8],
    ]),
    ...group('buyer', 4, [
      ['impression', 5],
      ['click', 2],
      ['conversion', 3, '33.333333'],
    ]),
  ]);
});

const range = { from: '2025-02-03', to: '2025-02-03' };

describe('audiences', () => {
  it('recovers planted groups with their sizes and exact averages', async () => {
    const r = await analyze(dataDir, 'audiences', { ...range, k: '3' });
    expect(r.columns.map((c) => c.name).join(',')).toBe(
      'cluster,users,avg_events,avg_impressions,avg_clicks,avg_conversions,avg_revenue',
    );
    expect(r.rows).toEqual([
      {
        cluster: 0,
        users: 10,
        avg_events: '1.000000',
        avg_impressions: '1.000000',
        avg_clicks: '0.000000',
        avg_conversions: '0.000000',
        avg_revenue: '0.000000',
      },
      {
        cluster: 1,
        users: 6,
        avg_events: '38.000000',
        avg_impressions: '30.000000',
        avg_clicks: '8.000000',
        avg_conversions: '0.000000',
        avg_revenue: '0.000000',
      },
      {
        cluster: 2,
        users: 4,
        avg_events: '10.000000',
        avg_impressions: '5.000000',
        avg_clicks: '2.000000',
        avg_conversions: '3.000000',
        avg_revenue: '99.999999',
      },
    ]);
    expect(r.meta.warnings).toEqual([]);
  });

  it('is deterministic for a seed and defaults to k = 5', async () => {
    const a = await analyze(dataDir, 'audiences', { ...range, seed: '7' });
    const b = await analyze(dataDir, 'audiences', { ...range, seed: '7' });
    expect(a.rows).toEqual(b.rows);
    expect(a.meta.k).toBe(5);
    expect(a.rows.reduce((s, r) => s + Number(r.users), 0)).toBe(20);
  });

  it('warns when there are fewer distinct users than clusters', async () => {
    const r = await analyze(dataDir, 'audiences', { ...range, k: '4' });
    expect(r.rows.length).toBe(3);
    expect(r.meta.warnings[0]).toMatch(/only 3 distinct clusters/);
  });

  it('refuses a k that is not a positive integer', async () => {
    await expect(analyze(dataDir, 'audiences', { ...range, k: '0' })).rejects.toMatchObject({
      code: 'ADP_ERR_BAD_PARAM',
    });
  });
});

describe('kMeans', () => {
  it('makes one cluster of coincident points, however many are asked for', () => {
    const same = kMeans([[1], [1], [1]], 3, 42);
    expect(same.centroids.length).toBe(1);
    expect(same.assignment).toEqual([0, 0, 0]);
  });

  it('separates two distant blobs whatever the seed', () => {
    const points = [[0], [0.1], [0.2], [10], [10.1]];
    for (const seed of [1, 2, 3, 42]) {
      const { assignment } = kMeans(points, 2, seed);
      expect(new Set(assignment.slice(0, 3)).size).toBe(1);
      expect(new Set(assignment.slice(3)).size).toBe(1);
      expect(assignment[0]).not.toBe(assignment[3]);
    }
  });
});
