import { parseMicros } from '../../src/money.js';

/** Micros of a money value as tests meet it: a text or JSON number from adpipe's output; absent is zero. */
export const micros = (v: unknown): bigint => (v === undefined || v === null ? 0n : parseMicros(String(v)));
