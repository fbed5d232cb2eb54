// A local HTTP feed for tests: serves pages of Fernet tokens the way docs/feeds.md describes
// (seed-style JSON array, `next` links, `?since=` cursors with NDJSON), over a real socket.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Each page: the body's tokens (or raw items), and how the page points onward. */
export interface FeedRoute {
  /** Items by request URL (path + query), computed per request so a test can change them between pulls. */
  readonly pages: (pathAndQuery: string) => { body: string; headers?: Record<string, string> } | undefined;
}

export interface FeedServer {
  readonly url: string;
  /** Requests served, in order (path + query). */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFeedServer(route: FeedRoute): Promise<FeedServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const at = req.url ?? '/';
    requests.push(at);
    const page = route.pages(at);
    if (page === undefined) {
      res.writeHead(404).end('no such page');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', ...page.headers }).end(page.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
