// The dashboard in real headless Chromium against a real server over HTTP, on a small ingested
// fixture: KPI tiles match the API, filters change every panel and the URL, CSV downloads, and
// screenshots at desktop and phone widths land in test/artifacts/.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadUnits } from '../../src/loader/loader.js';
import { WEB_DIST } from '../../src/server/dashboard.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { liveCounters } from '../../src/stream/live-counters.js';
import { buildFixture, startServer, type TestServer } from '../api/fixture.js';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const artifacts = path.join(root, 'test/artifacts');
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

(await describeWith('chromium'))('dashboard in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    // `npm test` builds the bundle first (pretest); running this file alone builds it here.
    if (!existsSync(path.join(WEB_DIST, 'index.html'))) execFileSync('npx', ['vite', 'build'], { cwd: root });
    mkdirSync(artifacts, { recursive: true });
    server = await startServer(await buildFixture('e2e'));
    base = await server.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: testServices.chromiumPath,
      args: ARGS,
      timeout: 30_000,
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function api(
    url: string,
  ): Promise<{ totals: Record<string, string | number | null>; rows: unknown[] }> {
    const res = await fetch(`${base}${url}`);
    expect(res.status).toBe(200);
    return res.json() as Promise<{ totals: Record<string, string | number | null>; rows: unknown[] }>;
  }

  /** Waits until the view finished rendering after `action`. */
  async function settled(page: Page, action: () => Promise<unknown>): Promise<void> {
    const before = await page.evaluate(() => Number(document.body.dataset.ready ?? 0));
    await action();
    await page.waitForFunction((n) => Number(document.body.dataset.ready ?? 0) > n, before, {
      timeout: 15_000,
    });
  }

  const kpi = (page: Page, name: string) =>
    page.locator(`[data-kpi="${name}"] .kpi-value`).getAttribute('data-value', { timeout: 10_000 });

  it('shows KPIs equal to the API, reacts to filters, downloads CSV, fits desktop and phone', async () => {
    const now = Date.now();
    // An impression of 0.002, a click and a request.
    liveCounters.add({ events: 3, impressions: 1, clicks: 1, revenueMicros: 2_000n }, now - 3000);
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      timezoneId: 'UTC',
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/?tz=UTC`);
    await page.waitForFunction(() => Number(document.body.dataset.ready ?? 0) > 0, undefined, {
      timeout: 20_000,
    });

    // Latest 7 days end at the newest event (2024-05-02).
    const range = 'from=2024-04-26&to=2024-05-02&tz=UTC&by=&grain=total';
    const ad = await api(`/v1/reports/ad?${range}`);
    const requests = await api(`/v1/reports/ad_request?${range}`);
    expect(await kpi(page, 'requests')).toBe(String(requests.totals.requests));
    expect(await kpi(page, 'impressions')).toBe(String(ad.totals.impressions));
    expect(await kpi(page, 'clicks')).toBe(String(ad.totals.clicks));
    expect(await kpi(page, 'revenue')).toBe(String(ad.totals.revenue));
    expect(Number(await kpi(page, 'ctr'))).toBeCloseTo(Number(ad.totals.ctr), 6);
    await expect.poll(() => page.locator('#bd-table tbody tr').count()).toBe(3);
    await expect.poll(() => page.locator('#live-numbers').textContent()).toContain('Impressions1');
    await expect.poll(() => page.locator('#health [data-fact="files"]').textContent()).toBe('1');
    const chartSum = await page.locator('#ts-chart').getAttribute('data-sum');
    await page.screenshot({ path: path.join(artifacts, 'dashboard-1280.png'), fullPage: true });

    // A filter applies to every panel and lands in the URL.
    await settled(page, () => page.selectOption('select[name="media_id"]', 'm1'));
    expect(new URL(page.url()).searchParams.get('media_id')).toBe('m1');
    const adM1 = await api(`/v1/reports/ad?${range}&filter=media_id:m1`);
    expect(await kpi(page, 'impressions')).toBe(String(adM1.totals.impressions));
    expect(Number(adM1.totals.impressions)).toBeLessThan(Number(ad.totals.impressions));
    await expect.poll(() => page.locator('#bd-table tbody tr').count()).toBe(1);
    expect(await page.locator('#bd-table tbody tr td').first().textContent()).toBe('m1');
    expect(await page.locator('#ts-chart').getAttribute('data-sum')).not.toBe(chartSum);
    await page.screenshot({ path: path.join(artifacts, 'dashboard-filtered.png'), fullPage: true });

    // The filtered view is a shareable URL: opening it again shows the same numbers.
    const shared = await context.newPage();
    await shared.goto(page.url());
    await shared.waitForFunction(() => Number(document.body.dataset.ready ?? 0) > 0, undefined, {
      timeout: 20_000,
    });
    expect(await kpi(shared, 'impressions')).toBe(String(adM1.totals.impressions));
    await shared.close();

    // CSV of the breakdown.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[name="csv"]')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\n')[0]).toBe(
      'period,media_id,media_name,impressions,clicks,conversions,revenue,cost,ctr,cvr,ecpm,cpc,cpa',
    );
    expect(csv).toContain('News Web');
    expect(csv).not.toContain('Puzzle iOS');

    // Sorting by a column re-queries in that order.
    await settled(page, () => page.selectOption('select[name="media_id"]', ''));
    await settled(page, () => page.click('button[data-sort="clicks"]'));
    expect(new URL(page.url()).searchParams.get('order')).toBe('-clicks');

    // Pipeline health: a rejection reason opens a dead-letter sample.
    await page.click('button[data-sample="money.negative"]');
    await expect.poll(() => page.locator('#sample').textContent()).toContain('bad1');

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${base}/?tz=UTC`);
    await phone.waitForFunction(() => Number(document.body.dataset.ready ?? 0) > 0, undefined, {
      timeout: 20_000,
    });
    await phone.screenshot({ path: path.join(artifacts, 'dashboard-phone.png'), fullPage: true });
    // Nothing wider than the screen: wide tables scroll inside their panel.
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.close();
    expect(errors).toEqual([]);
    await context.close();
  });

  /** A page at `query`, rendered. */
  async function open(query: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
    const page = await browser.newPage({ viewport, timezoneId: 'UTC' });
    await page.goto(`${base}/${query}`);
    await page.waitForFunction(() => Number(document.body.dataset.ready ?? 0) > 0, undefined, {
      timeout: 20_000,
    });
    return page;
  }

  const firstCells = (page: Page) => page.locator('#bd-table tbody tr td:first-child').allTextContents();

  it('drills down from a breakdown row into a filter in the URL and the next dimension', async () => {
    const page = await open('?tz=UTC&by=org_id');
    expect(await firstCells(page)).toEqual(['o2', 'o1']);
    await settled(page, () => page.click('#bd-table tr[data-drill="o2"]'));
    const q = new URL(page.url()).searchParams;
    expect(q.get('org_id')).toBe('o2');
    expect(await page.locator('select[name="by"]').inputValue()).toBe('media_id');
    await expect.poll(() => firstCells(page).then((c) => c.sort())).toEqual(['m2', 'm3']);
    expect(await page.locator('select[name="org_id"]').inputValue()).toBe('o2');
    // The drilled-down view survives a reload.
    await page.reload();
    await page.waitForFunction(() => Number(document.body.dataset.ready ?? 0) > 0);
    expect((await firstCells(page)).sort()).toEqual(['m2', 'm3']);
    await page.close();
  });

  it('takes any IANA zone typed into the zone search, not only the suggested ones', async () => {
    const page = await open('?tz=UTC');
    expect(await page.locator('#tz-list option').count()).toBeGreaterThan(300);
    await page.fill('input[name="tz"]', 'Pacific/Chatham');
    await settled(page, () => page.press('input[name="tz"]', 'Enter'));
    expect(new URL(page.url()).searchParams.get('tz')).toBe('Pacific/Chatham');
    // The newest event (2024-05-02, late evening UTC) is already 2024-05-03 at +12:45.
    expect(await page.locator('#range-label').textContent()).toBe(
      '2024-04-27 to 2024-05-03 (Pacific/Chatham)',
    );
    const chatham = await api(
      '/v1/reports/ad_request?from=2024-04-27&to=2024-05-03&tz=Pacific/Chatham&by=&grain=total',
    );
    expect(await kpi(page, 'requests')).toBe(String(chatham.totals.requests));
    // A name that is no zone is refused in words, and the view stays.
    await page.fill('input[name="tz"]', 'Mars/Olympus');
    await page.press('input[name="tz"]', 'Enter');
    expect(
      await page.locator('input[name="tz"]').evaluate((el: HTMLInputElement) => el.validationMessage),
    ).toContain('not an IANA time zone');
    expect(new URL(page.url()).searchParams.get('tz')).toBe('Pacific/Chatham');
    await page.close();
  });

  it('scrolls the breakdown sideways at phone width with the first column in view', async () => {
    const page = await open('?tz=UTC&by=media_id', { width: 375, height: 812 });
    const wrap = page.locator('#bd-table');
    const [scrollWidth, clientWidth] = await wrap.evaluate((el) => [el.scrollWidth, el.clientWidth]);
    expect(scrollWidth).toBeGreaterThan(clientWidth);
    const left = async (selector: string) =>
      (await page.locator(selector).first().boundingBox({ timeout: 5_000 }))!.x;
    const firstBefore = await left('#bd-table tbody td:first-child');
    const thirdBefore = await left('#bd-table tbody td:nth-child(3)');
    await wrap.evaluate((el) => {
      el.scrollLeft = 200;
    });
    await expect.poll(() => wrap.evaluate((el) => el.scrollLeft)).toBeGreaterThan(100);
    expect(await left('#bd-table tbody td:first-child')).toBeCloseTo(firstBefore, 0);
    expect(await left('#bd-table tbody td:nth-child(3)')).toBeLessThan(thirdBefore - 100);
    await wrap.screenshot({ path: path.join(artifacts, 'dashboard-phone-table-scrolled.png') });
    // Nothing else is wider than the screen.
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
    ).toBeLessThanOrEqual(0);
    await page.close();
  });

  it('overlays the previous period on the time series', async () => {
    const page = await open('?tz=UTC&grain=day');
    await settled(page, () => page.check('input[name="compare"]'));
    expect(new URL(page.url()).searchParams.get('prev')).toBe('1');
    // 2024-04-19 to 04-25: before the fixture's first day, so nothing; the series is there, at zero.
    expect(await page.locator('#ts-chart').getAttribute('data-previous')).toBe('0');
    await settled(page, () => page.selectOption('select[name="preset"]', '1d'));
    const prev = await api('/v1/reports/ad?from=2024-05-01&to=2024-05-01&tz=UTC&by=&grain=total');
    expect(await page.locator('#ts-chart').getAttribute('data-previous')).toBe(String(prev.totals.revenue));
    await page.close();
  });

  // Last: it adds a day of data to the shared fixture.
  it('redraws itself when a new batch lands', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // A fake clock lets the test move the page's 30 s refresh timer on at once.
    await page.clock.install();
    await page.goto(`${base}/?tz=UTC`);
    await expect
      .poll(() => page.locator('#range-label').textContent(), { timeout: 20_000 })
      .toBe('2024-04-26 to 2024-05-02 (UTC)');
    const file = path.join(makeTempDir('e2e-refresh'), 'late.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ event_id: 'late1', type: 'request', ts: '2024-05-03T08:00:00Z', org_id: 'o1', media_id: 'm1' })}\n`,
    );
    await loadUnits(server.warehouse, await discoverInputs([file]));
    await page.clock.runFor(31_000);
    await expect
      .poll(() => page.locator('#range-label').textContent(), { timeout: 20_000 })
      .toBe('2024-04-27 to 2024-05-03 (UTC)');
    await expect.poll(() => page.locator('#health [data-fact="files"]').textContent()).toBe('2');
    await page.close();
  });

  it('asks for a read key in words when the server needs one', async () => {
    const locked = await startServer(await buildFixture('e2e-locked'), {
      server: { read_keys: ['reader-key-123456'] },
    });
    try {
      const url = await locked.app.listen({ port: 0, host: '127.0.0.1' });
      const page = await browser.newPage();
      await page.goto(url);
      await expect.poll(() => page.locator('#notice').textContent()).toContain('needs a read key');
      await page.fill('input[name="key"]', 'reader-key-123456');
      await page.click('.key-form button');
      await page.waitForFunction(() => Number(document.body.dataset.ready ?? 0) > 0, undefined, {
        timeout: 20_000,
      });
      expect(Number(await kpi(page, 'requests'))).toBeGreaterThan(0);
      await page.close();
    } finally {
      await locked.close();
    }
  });
});
