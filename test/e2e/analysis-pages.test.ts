// The Audience, Attribution and Experiments pages in real headless Chromium against a real server,
// on a small lake of known user events: each page shows the analyses' own numbers, navigation and
// choices land in the URL, and the sample-ratio warning shows for a 55/45 split and not for 50/50.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { MICROS, sumMicros } from '../../src/money.js';
import { WEB_DIST } from '../../src/server/dashboard.js';
import { lakeOf, type TestEvent } from '../analyses/lake.js';
import { startServer, type TestServer } from '../api/fixture.js';
import { describeWith, testServices } from '../helpers/services.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const artifacts = path.join(root, 'test/artifacts');
const RANGE = 'from=2025-05-01&to=2025-05-14&tz=UTC';
const EXPERIMENTS = {
  experiments: [
    { name: 'skew', variants: { A: 50, B: 50 }, control: 'A' },
    { name: 'fair', variants: { A: 50, B: 50 }, control: 'A' },
  ],
};

const day = (d: number) => `2025-05-${String(d + 1).padStart(2, '0')}`;

/** 20 users over two weeks: impressions on three campaigns, some clicks, some conversions. */
function audience(): TestEvent[] {
  return Array.from({ length: 20 }, (_, u) =>
    Array.from({ length: 14 }, (_, d) => {
      if ((u + d) % 3 !== 0) return [];
      const base = { user_id: `u${u}`, campaign_id: `c${u % 3}` };
      const out: TestEvent[] = [{ ...base, type: 'impression', ts: `${day(d)}T10:00:00Z` }];
      if (u % 2)
        out.push({ ...base, type: 'click', ts: `${day(d)}T10:05:00Z`, campaign_id: `c${(u + 1) % 3}` });
      if ((u + d) % 6 === 0)
        out.push({ user_id: `u${u}`, type: 'conversion', ts: `${day(d)}T10:30:00Z`, revenue: '2.5' });
      return out;
    }).flat(),
  ).flat();
}

/** n users of a variant seen on 2025-05-10, every tenth converting. */
function variant(experiment: string, name: string, n: number): TestEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const base = { user_id: `${experiment}-${name}-${i}`, experiment, variant: name };
    const seen: TestEvent = { ...base, type: 'impression', ts: '2025-05-10T12:00:00Z' };
    return i % 10
      ? [seen]
      : [seen, { ...base, type: 'conversion', ts: '2025-05-10T12:30:00Z', revenue: '1' }];
  }).flat();
}

const EVENTS = [
  ...audience(),
  ...variant('skew', 'A', 1100),
  ...variant('skew', 'B', 900),
  ...variant('fair', 'A', 1000),
  ...variant('fair', 'B', 1000),
];
const CONVERSIONS = EVENTS.filter((e) => e.type === 'conversion').length;

(await describeWith('chromium'))('analysis pages in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(WEB_DIST, 'index.html'))) execFileSync('npx', ['vite', 'build'], { cwd: root });
    mkdirSync(artifacts, { recursive: true });
    server = await startServer(await lakeOf('e2e-analyses', EVENTS), EXPERIMENTS);
    base = await server.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: testServices.chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
      timeout: 30_000,
    });
  }, 120_000);
  afterEach(() => expect(errors).toEqual([]));
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function api(
    url: string,
  ): Promise<{ rows: Array<Record<string, string | number | null>>; meta: Record<string, unknown> }> {
    const res = await fetch(`${base}${url}`);
    expect(res.status).toBe(200);
    return res.json() as never;
  }

  async function open(query: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/?${query}`);
    await page.waitForFunction(() => Number(document.body.dataset.ready ?? 0) > 0, undefined, {
      timeout: 20_000,
    });
    return page;
  }

  async function settled(page: Page, action: () => Promise<unknown>): Promise<void> {
    const before = await page.evaluate(() => Number(document.body.dataset.ready ?? 0));
    await action();
    await page.waitForFunction((n) => Number(document.body.dataset.ready ?? 0) > n, before, {
      timeout: 20_000,
    });
  }

  /** The exact values of a table column, summed in micro-units. */
  async function columnMicros(page: Page, selector: string): Promise<bigint> {
    const values = await page
      .locator(selector)
      .evaluateAll((cells) => cells.map((c) => c.getAttribute('data-value') ?? ''));
    return sumMicros(values);
  }

  it('Audience: active users and the retention heatmap from the analyses', async () => {
    const page = await open(`${RANGE}&page=audience`);
    const active = await api(`/v1/analysis/active-users?${RANGE}`);
    const dau = active.rows.reduce((a, r) => a + Number(r.dau), 0);
    expect(dau).toBeGreaterThan(0);
    expect(await page.locator('#au-chart').getAttribute('data-dau')).toBe(String(dau));
    const retention = await api(`/v1/analysis/retention?${RANGE}`);
    expect(retention.rows.length).toBeGreaterThan(0);
    expect(await page.locator('#ret-chart').getAttribute('data-cohorts')).toBe(String(retention.rows.length));
    expect(await page.locator('#ret-chart').getAttribute('data-users')).toBe(
      String(retention.rows.reduce((a, r) => a + Number(r.users), 0)),
    );
    // The overview's panels and its dimension filters are not shown here.
    expect(await page.locator('#page-overview').isHidden()).toBe(true);
    expect(await page.locator('select[name="media_id"]').isHidden()).toBe(true);
    await page.screenshot({ path: path.join(artifacts, 'dashboard-audience.png'), fullPage: true });
  });

  it('Attribution: every model credits exactly the conversions; the model is in the URL', async () => {
    const page = await open(RANGE);
    await settled(page, () => page.click('#pages button[data-page="attribution"]'));
    expect(new URL(page.url()).searchParams.get('page')).toBe('attribution');
    expect(await page.locator('#page-attribution').isVisible()).toBe(true);
    expect(await columnMicros(page, '#attr-table td[data-col="conversions"]')).toBe(
      BigInt(CONVERSIONS) * MICROS,
    );
    expect(await columnMicros(page, '#attr-table td[data-col="revenue"]')).toBe(
      sumMicros(EVENTS.filter((e) => e.type === 'conversion').map((e) => String(e.revenue))),
    );

    await settled(page, () => page.selectOption('#attr-controls select[name="model"]', 'linear'));
    expect(new URL(page.url()).searchParams.get('model')).toBe('linear');
    const linear = await api(`/v1/analysis/attribution?${RANGE}&model=linear&lookback=24h`);
    expect(await page.locator('#attr-table tbody tr').count()).toBe(linear.rows.length);
    expect(await columnMicros(page, '#attr-table td[data-col="conversions"]')).toBe(
      BigInt(CONVERSIONS) * MICROS,
    );
    for (const model of ['first', 'last', 'linear', 'time-decay', 'position'])
      expect(await columnMicros(page, `#attr-compare td[data-model="${model}"]`)).toBe(
        BigInt(CONVERSIONS) * MICROS,
      );
    await page.screenshot({ path: path.join(artifacts, 'dashboard-attribution.png'), fullPage: true });
  });

  it('Experiments: variants with their statistics, and the SRM banner for 55/45 only', async () => {
    const page = await open(`${RANGE}&page=experiments&experiment=skew`);
    expect(await page.locator('#ab-srm').isVisible()).toBe(true);
    expect(await page.locator('#ab-srm').textContent()).toMatch(/Sample-ratio mismatch/);
    const skew = await api(`/v1/analysis/ab?${RANGE}&experiment=skew`);
    expect(skew.meta.srm).toBe(true);
    const users = await page
      .locator('#ab-table td[data-col="users"]')
      .evaluateAll((c) => c.map((x) => x.getAttribute('data-value')));
    expect(users).toEqual(['1100', '900']);
    const converters = await page
      .locator('#ab-table td[data-col="converters"]')
      .evaluateAll((c) => c.map((x) => x.getAttribute('data-value')));
    expect(converters).toEqual(['110', '90']);
    expect(await page.locator('#ab-table td[data-col="p_value"]').nth(1).textContent()).toBe(
      String(skew.rows[1]!.p_value),
    );
    await page.screenshot({ path: path.join(artifacts, 'dashboard-experiments.png'), fullPage: true });

    await settled(page, () => page.selectOption('#ab-controls select[name="experiment"]', 'fair'));
    expect(new URL(page.url()).searchParams.get('experiment')).toBe('fair');
    expect(await page.locator('#ab-srm').isHidden()).toBe(true);
    const fairUsers = await page
      .locator('#ab-table td[data-col="users"]')
      .evaluateAll((c) => c.map((x) => x.getAttribute('data-value')));
    expect(fairUsers).toEqual(['1000', '1000']);
  });
});
