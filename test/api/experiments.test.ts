// GET /v1/experiments: the config's experiments for the dashboard's picker, variants in assignment
// order with their weights; behind the read key like every read route.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/tmp.js';
import { startServer, type TestServer } from './fixture.js';

const KEY = 'experiments-read-key';
let server: TestServer;

beforeAll(async () => {
  server = await startServer(makeTempDir('experiments'), {
    server: { read_keys: [KEY] },
    experiments: [
      { name: 'checkout-button', variants: { A: 50, B: 50 }, control: 'A' },
      { name: 'onboarding', variants: { short: 20, control: 70, none: 10 }, control: 'control' },
    ],
  });
});
afterAll(() => server?.close());

it('lists the experiments with variants in declared order', async () => {
  const res = await server.app.inject({
    url: '/v1/experiments',
    headers: { authorization: `Bearer ${KEY}` },
  });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual({
    experiments: [
      {
        name: 'checkout-button',
        control: 'A',
        variants: [
          { name: 'A', weight: 50 },
          { name: 'B', weight: 50 },
        ],
      },
      {
        name: 'onboarding',
        control: 'control',
        variants: [
          { name: 'short', weight: 20 },
          { name: 'control', weight: 70 },
          { name: 'none', weight: 10 },
        ],
      },
    ],
  });
});

it('needs the read key', async () => {
  expect((await server.app.inject('/v1/experiments')).statusCode).toBe(401);
});
