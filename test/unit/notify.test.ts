// Seed 000's notify: a webhook receives each run's summary; a failing webhook never fails the run.

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { notify } from '../../src/pipeline/notify.js';

describe('notify webhook', () => {
  const received: Array<{ text: string; ok: boolean }> = [];
  let status = 200;
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(status).end();
    });
  });
  let url = '';

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('posts the summary as Slack-compatible text', async () => {
    await notify(parseConfig({ notify: { webhook: url } }), {
      ok: true,
      text: 'files read 3',
      summary: { accepted: 5 },
    });
    expect(received.at(-1)).toMatchObject({ text: 'files read 3', ok: true, summary: { accepted: 5 } });
  });

  it('sends only the kinds configured', async () => {
    const before = received.length;
    await notify(parseConfig({ notify: { webhook: url, on: ['failure'] } }), { ok: true, text: 'quiet' });
    expect(received.length).toBe(before);
    await notify(parseConfig({ notify: { webhook: url, on: ['failure'] } }), { ok: false, text: 'broke' });
    expect(received.at(-1)).toMatchObject({ text: 'broke', ok: false });
  });

  it('never throws when the webhook fails or is unreachable', async () => {
    status = 500;
    await expect(
      notify(parseConfig({ notify: { webhook: url } }), { ok: true, text: 'x' }),
    ).resolves.toBeUndefined();
    await expect(
      notify(parseConfig({ notify: { webhook: 'http://127.0.0.1:9/unreachable' } }), { ok: true, text: 'x' }),
    ).resolves.toBeUndefined();
  });
});
