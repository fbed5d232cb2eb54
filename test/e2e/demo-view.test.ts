// `adpipe demo` as a new user meets it: the real command (fewer events) simulates the last two
// weeks, ingests them and serves; headless Chromium in Asia/Seoul opens the default view and
// "Latest day". Screenshots land in test/artifacts/ (demo-*.png) for people to look at.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const artifacts = path.join(root, 'test/artifacts');
const TZ = 'Asia/Seoul';

interface Report {
  rows: Array<Record<string, string | number | null>>;
  totals: Record<string, string | number | null>;
  compare?: { before?: string; change: Record<string, number | null> };
}

(await describeWith('chromium'))('the demo in Chromium', () => {
  let demo: ChildProcess;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    const dir = makeTempDir('demo-view');
    demo = spawn(
      process.execPath,
      [path.join(root, 'bin/adpipe.js'), 'demo', '--events', '80000', '--port', '0', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    base = await new Promise<string>((resolve, reject) => {
      let out = '';
      demo.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /Dashboard: (http:\/\/\S+?)\/ /.exec(out);
        if (m) resolve(m[1]!);
      });
      demo.on('exit', (code) => reject(new Error(`demo exited ${code}:\n${out}`)));
    });
    browser = await chromium.launch({
      executablePath: testServices.chromiumPath,
      args: ['--headless', '--no-sandbox'],
    });
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    demo?.kill('SIGTERM');
  });

  async function view(query: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: TZ });
    await page.goto(`${base}/${query}`);
    await page.waitForFunction(() => Number(document.body.dataset.ready ?? 0) > 0, undefined, {
      timeout: 30_000,
    });
    return page;
  }

  const api = async (url: string): Promise<Report> =>
    (await fetch(`${base}${url}`)).json() as Promise<Report>;

  it('shows the latest week as a fortnight of traffic would: every day full, no ramp from zero', async () => {
    const page = await view('');
    await page.screenshot({ path: path.join(artifacts, 'demo-default.png'), fullPage: true });
    const label = (await page.locator('#range-label').textContent())!;
    const [, from, to] = /^(\S+) to (\S+) \(Asia\/Seoul\)$/.exec(label)!;
    // The week ends today in Seoul (the newest event is less than an hour old).
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date(Date.now() - 3_600_000));
    expect([today, new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date())]).toContain(to);
    const days = await api(`/v1/reports/ad_request?from=${from}&to=${to}&tz=${TZ}&by=&grain=day`);
    const full = days.rows.filter((r) => r.date !== to).map((r) => Number(r.requests));
    expect(full).toHaveLength(6);
    // The weekly rhythm moves days by a fifth at most, never from nothing.
    expect(Math.min(...full)).toBeGreaterThan(0.7 * Math.max(...full));
    expect(Number(await page.locator('#ts-chart').getAttribute('data-sum'))).toBeGreaterThan(0);
    await page.close();
    // The daily and weekly rhythm is plainest in requests, by hour with the week before beside it.
    const requests = await view('?measure=requests&ts=ad_request&prev=1');
    await requests
      .locator('#ts-chart')
      .screenshot({ path: path.join(artifacts, 'demo-requests-by-hour.png') });
    await requests.close();
  });

  it('compares a partial latest day with the same hours of the day before', async () => {
    const page = await view('?preset=1d');
    await page.screenshot({ path: path.join(artifacts, 'demo-latest-day.png'), fullPage: true });
    const day = (await page.locator('#range-label').textContent())!.slice(0, 10);
    const r = await api(
      `/v1/reports/ad_request?from=${day}&to=${day}&tz=${TZ}&by=&grain=total&compare=previous`,
    );
    if (r.compare?.before) {
      expect(await page.locator('[data-kpi="requests"] .kpi-change').textContent()).toContain('same hours');
    }
    // Like for like: the same hours of two days differ by the weekly rhythm and noise, not by half.
    expect(Math.abs(r.compare!.change.requests!)).toBeLessThan(50);
    await page.close();
  });
});
