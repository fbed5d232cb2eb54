// Pipeline health: files and events ingested, rejections by reason with a sample of each, lag.

import { getJson } from './api';
import { setStatus } from './context';
import { escapeHtml, formatValue } from './format';

interface Pipeline {
  files: { files: number; records: number; accepted: number; duplicates: number; rejected: number };
  batches: Array<{
    batch_id: number;
    committed_at: string;
    files: number;
    accepted: number;
    rejected: number;
  }>;
  rejections: Array<{ code: string; count: number; example: string }>;
  lag: {
    last_commit: string | null;
    since_last_commit_s: number | null;
    newest_event: string | null;
    newest_event_age_s: number | null;
  };
}

function ago(s: number | null): string {
  if (s === null) return '–';
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

export async function renderHealth(el: HTMLElement): Promise<Pipeline | undefined> {
  setStatus(el, 'loading');
  try {
    const p = await getJson<Pipeline>('/v1/pipeline');
    const n = (v: number) => formatValue(v, 'count');
    el.className = 'status none';
    el.innerHTML = `
      <dl class="facts">
        <div><dt>Files ingested</dt><dd data-fact="files">${n(p.files.files)}</dd></div>
        <div><dt>Events accepted</dt><dd>${n(p.files.accepted)}</dd></div>
        <div><dt>Duplicates dropped</dt><dd>${n(p.files.duplicates)}</dd></div>
        <div><dt>Events rejected</dt><dd data-fact="rejected">${n(p.files.rejected)}</dd></div>
        <div><dt>Last commit</dt><dd>${p.lag.last_commit ? `${ago(p.lag.since_last_commit_s)} ago` : 'never'}</dd></div>
        <div><dt>Newest event</dt><dd>${p.lag.newest_event ? `${ago(p.lag.newest_event_age_s)} old` : '–'}</dd></div>
      </dl>
      <h3>Rejected, by reason</h3>
      ${
        p.rejections.length === 0
          ? '<p class="muted">Nothing rejected.</p>'
          : `<table class="breakdown"><thead><tr><th>Reason</th><th class="num">Events</th><th></th></tr></thead><tbody>${p.rejections
              .map(
                (r) =>
                  `<tr><td><code>${escapeHtml(r.code)}</code><div class="muted">${escapeHtml(r.example)}</div></td><td class="num">${n(r.count)}</td>
                   <td><button type="button" data-sample="${escapeHtml(r.code)}">Sample</button></td></tr>`,
              )
              .join('')}</tbody></table>`
      }
      <div id="sample"></div>`;
    el.onclick = async (e) => {
      const code = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-sample]')?.dataset
        .sample;
      if (!code) return;
      const out = el.querySelector<HTMLElement>('#sample')!;
      out.textContent = 'Loading…';
      try {
        const { records } = await getJson<{
          records: Array<{ source: string; line: number | null; message: string; text: string | null }>;
        }>('/v1/deadletter', new URLSearchParams({ code, limit: '5' }));
        out.innerHTML = `<h3>Sample: ${escapeHtml(code)}</h3><ul class="sample">${records
          .map(
            (r) =>
              `<li><div class="muted">${escapeHtml(r.source.split('/').pop() ?? r.source)}${r.line ? `, line ${r.line}` : ''}: ${escapeHtml(r.message)}</div><code>${escapeHtml((r.text ?? '').slice(0, 300))}</code></li>`,
          )
          .join('')}</ul>`;
      } catch (err) {
        out.textContent = `Could not load the sample: ${(err as Error).message}`;
      }
    };
    return p;
  } catch (err) {
    setStatus(el, 'error', `Could not load pipeline health: ${(err as Error).message}`);
    return undefined;
  }
}
