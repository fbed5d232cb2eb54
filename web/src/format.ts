// How numbers look to people: thousands separators, money with 2 decimals (exact values in CSV).

const int = new Intl.NumberFormat('en-US');
const money2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const money4 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 4, maximumFractionDigits: 4 });

export type Kind = 'count' | 'money' | 'percent' | 'ratio';

export function formatValue(v: string | number | null | undefined, kind: Kind): string {
  if (v === null || v === undefined || v === '') return '–';
  const n = Number(v);
  switch (kind) {
    case 'count':
      return int.format(n);
    case 'money':
      return Math.abs(n) < 1 && n !== 0 ? money4.format(n) : money2.format(n);
    case 'percent':
      return `${(n * 100).toFixed(2)}%`;
    case 'ratio':
      return n.toFixed(2);
  }
}

export function formatChange(pct: number | null | undefined): { text: string; cls: string } {
  if (pct === null || pct === undefined) return { text: 'no previous data', cls: 'flat' };
  const sign = pct > 0 ? '▲' : pct < 0 ? '▼' : '■';
  return {
    text: `${sign} ${Math.abs(pct).toFixed(1)}% vs previous`,
    cls: pct > 0 ? 'up' : pct < 0 ? 'down' : 'flat',
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A labelled <select> of [value, label] options. */
export function select(name: string, label: string, options: Array<[string, string]>, value: string): string {
  return `<label>${label} <select name="${name}">${options
    .map(
      ([v, l]) =>
        `<option value="${escapeHtml(v)}"${v === value ? ' selected' : ''}>${escapeHtml(l)}</option>`,
    )
    .join('')}</select></label>`;
}
