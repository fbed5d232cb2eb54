// The lake sink's config, apart from the sink so reading adpipe.yaml loads no S3 client.

import { z } from 'zod';
import { sinkConfigSchema } from '../sink.js';

export const lakeSinkSchema = sinkConfigSchema('lake', {
  /** s3://bucket/prefix; endpoint, region and credentials from the standard AWS variables. */
  url: z.string().regex(/^s3:\/\/[^/]+/, 'an s3://bucket/prefix URL'),
});

export type LakeSinkConfig = z.infer<typeof lakeSinkSchema>;
