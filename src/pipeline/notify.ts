// Seed 000's notify: a webhook (e.g. a Slack incoming webhook) gets each run's summary and failures.
// A failing webhook is logged and never fails the run.

import type { Config } from '../config.js';
import { componentLogger } from '../logger.js';

const log = componentLogger('notify');

export interface Notice {
  ok: boolean;
  text: string;
  summary?: unknown;
}

export async function notify(config: Config, notice: Notice): Promise<void> {
  const hook = config.notify;
  if (!hook?.on.includes(notice.ok ? 'success' : 'failure')) return;
  try {
    const res = await fetch(hook.webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // `text` is what Slack shows; the rest is for other receivers.
      body: JSON.stringify({ text: notice.text, ok: notice.ok, summary: notice.summary }),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) log.warn({ status: res.status }, 'webhook answered with an error');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'webhook failed');
  }
}
