// Whether a host takes a TCP connection: a publishing collector's broker readiness and the tests'
// service probes ask the same question.

import { connect } from 'node:net';

/** Resolves true once the connection is accepted, false on an error or after timeoutMs. Never throws. */
export function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
