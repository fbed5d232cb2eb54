import { validateEvent } from './src/events/validate.js';
import { spoolLine } from './src/server/collector/batch.js';
const types = ['request', 'response', 'impression', 'click']; const lines: string[] = [];
for (let i = 0; i < 500; i++) lines.push(JSON.stringify({ event_id: `r1-${i}`, type: types[i % 4], ts: '2025-06-01T12:00:00.000Z', org_id: 'org-1', media_id: `m-${i % 7}`, inventory_id: `inv-${i % 31}`, demand_id: 'dsp-2', device: i % 3 ? 'MOBILE' : 'PC', country: 'KR', user_id: `u-${i % 97}`, revenue: i % 4 === 2 ? '0.002150' : '0' }));
function t(name: string, fn: () => void, n = 3000) { for (let i = 0; i < 300; i++) fn(); const t0 = performance.now(); for (let i = 0; i < n; i++) fn(); console.log(name, ((performance.now() - t0) * 1000 / (n * 500)).toFixed(3), 'us/event'); }
const objs = lines.map((l) => JSON.parse(l));
const evs = objs.map((o) => (validateEvent(o) as any).event);
t('JSON.parse', () => { for (const l of lines) JSON.parse(l); });
t('validateEvent', () => { for (const o of objs) validateEvent(o); });
t('spoolLine', () => { for (const e of evs) spoolLine(e); });
t('stringify ev', () => { for (const e of evs) JSON.stringify(e); });
