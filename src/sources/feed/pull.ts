// A provisional `adpipe feed pull` until the runtime's Source contract wraps the feed client:
// pages from the stored cursor until the feed has no more, each page's records ingested with
// loadUnits, its dead letters written to the dead-letter store, then the cursor stored.
// The cursor is stored after the warehouse commit, not inside it: a crash between the two
// re-pulls the page, and the repeat is dropped by the ledger (same records = same file) and by
// event ids (content hashes for feeds without ids), so nothing is counted twice.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { type LoadOptions, type LoadSummary, loadUnits } from '../../loader/loader.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { discoverInputs } from '../files/discover.js';
import { type FeedOptions, feedDeadLetterRows, fetchFeedPage, writeFeedRecords } from './client.js';

export interface PullResult {
  pages: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  deadLetters: number;
  /** Where the next pull starts. */
  cursor: string;
}

/** Pages fetched in one pull at most, so a feed that never says "no more" cannot hold the lock forever. */
const MAX_PAGES = 1000;

export async function pullFeed(
  wh: Warehouse,
  url: string,
  options: FeedOptions,
  ingest: LoadOptions = {},
): Promise<PullResult> {
  const state = path.join(wh.dataDir, 'feeds', createHash('sha256').update(url).digest('hex').slice(0, 16));
  mkdirSync(state, { recursive: true });
  const cursorFile = path.join(state, 'cursor');
  let cursor = existsSync(cursorFile) ? readFileSync(cursorFile, 'utf8').trim() : url;
  const result: PullResult = { pages: 0, accepted: 0, duplicates: 0, rejected: 0, deadLetters: 0, cursor };
  for (let more = true; more && result.pages < MAX_PAGES; ) {
    const page = await fetchFeedPage(cursor, options);
    result.pages++;
    const file = await writeFeedRecords(page, state);
    if (file !== undefined) {
      add(result, await loadUnits(wh, await discoverInputs([file]), { ...ingest, kind: 'feed' }));
      rmSync(file); // the ledger keeps its path and hash: the same records again are skipped
    }
    const rows = feedDeadLetterRows(page);
    if (rows.length > 0) {
      mkdirSync(wh.deadLetterDir, { recursive: true });
      const lines = rows.map((r) => JSON.stringify({ batch_id: null, ...r }));
      await appendFile(
        path.join(wh.deadLetterDir, `feed-${Date.now()}-${process.pid}.ndjson`),
        `${lines.join('\n')}\n`,
      );
      result.deadLetters += rows.length;
    }
    writeFileSync(cursorFile, page.nextCursor);
    cursor = page.nextCursor;
    result.cursor = cursor;
    more = page.more;
  }
  return result;
}

function add(result: PullResult, s: LoadSummary): void {
  result.accepted += s.accepted;
  result.duplicates += s.duplicates;
  result.rejected += s.rejected;
}
