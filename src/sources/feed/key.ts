// Where a feed's Fernet key comes from: an environment variable or a file, never the command line
// (visible in `ps` and shell history) and never a log line.

import { readFileSync } from 'node:fs';
import { AdpipeError } from '../../errors.js';
import { type FernetKey, parseFernetKey } from './fernet.js';

export type FeedKeySource = { readonly env: string } | { readonly file: string };

export function loadFeedKey(source: FeedKeySource): FernetKey {
  let text: string | undefined;
  if ('env' in source) {
    text = process.env[source.env];
    if (text === undefined || text.trim() === '') {
      throw new AdpipeError('ADP_ERR_SOURCE_FEED_KEY', [`environment variable ${source.env} is not set`]);
    }
  } else {
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new AdpipeError('ADP_ERR_SOURCE_FEED_KEY', [
        `cannot read ${source.file}: ${(err as NodeJS.ErrnoException).code}`,
      ]);
    }
  }
  return parseFernetKey(text);
}
