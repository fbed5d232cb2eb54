// Live traffic from the server's per-second counters (SSE): a snapshot of 15 minutes, then a tick a second.

import { formatMicros, sumMicros } from '../../src/money';
import { liveUrl } from './api';
import { chartIn } from './charts';
import { setStatus } from './context';
import { formatValue } from './format';

interface Second {
  t: number;
  events: number;
  impressions: number;
  clicks: number;
  revenue: string;
}

const WINDOW = 900;
let source: EventSource | undefined;

export function startLive(numbers: HTMLElement, status: HTMLElement, chartEl: HTMLElement): void {
  source?.close();
  let seconds: Second[] = [];
  const chart = chartIn(chartEl);
  const draw = () => {
    const last10 = seconds.slice(-10);
    const sum = (k: 'events' | 'impressions' | 'clicks') => seconds.reduce((a, s) => a + s[k], 0);
    // Revenue in integer micros, so the sum stays exact.
    const revenue = formatMicros(sumMicros(seconds.map((s) => s.revenue)));
    const tile = (label: string, v: string) =>
      `<div class="kpi"><div class="kpi-label">${label}</div><div class="kpi-value">${v}</div></div>`;
    numbers.innerHTML =
      tile(
        'Events/s (10 s)',
        (last10.reduce((a, s) => a + s.events, 0) / Math.max(1, last10.length)).toFixed(1),
      ) +
      tile('Events', formatValue(sum('events'), 'count')) +
      tile('Impressions', formatValue(sum('impressions'), 'count')) +
      tile('Clicks', formatValue(sum('clicks'), 'count')) +
      tile('Revenue', formatValue(revenue, 'money'));
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 8, top: 10, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: seconds.map((s) => new Date(s.t * 1000).toLocaleTimeString()) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        {
          name: 'events/s',
          type: 'line',
          showSymbol: false,
          areaStyle: { opacity: 0.2 },
          data: seconds.map((s) => s.events),
        },
      ],
    });
    if (sum('events') === 0)
      setStatus(status, 'empty', 'No events collected by this server in the last 15 minutes.');
    else setStatus(status, 'none');
  };
  setStatus(status, 'loading');
  source = new EventSource(liveUrl(WINDOW));
  source.addEventListener('snapshot', (e) => {
    seconds = JSON.parse((e as MessageEvent).data) as Second[];
    draw();
  });
  source.addEventListener('tick', (e) => {
    seconds.push(JSON.parse((e as MessageEvent).data) as Second);
    if (seconds.length > WINDOW) seconds.shift();
    draw();
  });
  source.onerror = () => setStatus(status, 'error', 'The live stream is interrupted; reconnecting…');
}
