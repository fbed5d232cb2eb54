import { pino } from 'pino';

// One logger for every component; each adds `{ component }` so lines can be filtered alike.
// Logs go to stderr so stdout stays clean for reports and summaries.
export const logger = pino(
  {
    level: process.env.ADPIPE_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'warn'),
    base: { app: 'adpipe' },
  },
  pino.destination(2),
);

export function componentLogger(component: string) {
  return logger.child({ component });
}
