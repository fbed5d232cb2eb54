// The files source (local files; S3 objects are the same units fetched first) passes the source
// conformance suite.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe } from 'vitest';
import { FilesSource } from '../../src/sources/files/source.js';
import { sourceConformance } from './conformance.js';

describe('files source conformance', () => {
  sourceConformance({
    offer: (_dataDir, inputDir, name, data) => {
      const file = path.join(inputDir, `${name}.jsonl`);
      writeFileSync(file, data);
      return file;
    },
    create: (_dataDir, inputDir) =>
      FilesSource.create({
        type: 'files',
        name: 'files',
        paths: [inputDir],
        batch_files: 1,
        reprocess: false,
      }),
    command: (inputDir) => ['ingest', inputDir, '--batch-files', '1'],
    finite: true,
    idle: () => true,
  });
});
