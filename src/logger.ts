import { pino } from 'pino';

// One logger for every component; each adds `{ component }` so lines can be filtered alike.
// Logs go to stderr so stdout stays clean for reports and summaries: JSON lines for machines, and
// short human lines when stderr is a terminal (ADPIPE_LOG_FORMAT=json|pretty overrides).

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const LEFT_OUT = new Set(['level', 'time', 'pid', 'hostname', 'app', 'component', 'msg', 'err']);

/** One pino JSON line as `12:00:01 warn ingest: file set aside file=… reason=…`. */
export function prettyLine(json: string): string {
  const rec = JSON.parse(json) as Record<string, unknown>;
  const time = new Date(Number(rec.time)).toTimeString().slice(0, 8);
  const where = rec.component ? ` ${rec.component}:` : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !LEFT_OUT.has(k))
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('');
  const err = rec.err as { message?: string; stack?: string } | undefined;
  const cause = err ? `\n  ${err.stack ?? err.message}` : '';
  return `${time} ${LEVELS[Number(rec.level)] ?? rec.level}${where} ${rec.msg ?? ''}${fields}${cause}\n`;
}

function destination() {
  const format = process.env.ADPIPE_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty') return pino.destination(2);
  return { write: (line: string) => process.stderr.write(prettyLine(line)) };
}

export const logger = pino(
  {
    level: process.env.ADPIPE_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'warn'),
    base: { app: 'adpipe' },
  },
  destination(),
);

export function componentLogger(component: string) {
  return logger.child({ component });
}
