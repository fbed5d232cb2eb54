// adpipe.yaml's JSON Schema, generated from the zod schema (with every registered source and sink
// type), for editors: `# yaml-language-server: $schema=…` on top of a config file. Checked in as
// docs/adpipe.schema.json; `npm run schema` rewrites it and a test fails when it is stale.

import { z } from 'zod';
import { configSchema } from './config.js';

export const CONFIG_JSON_SCHEMA_FILE = 'docs/adpipe.schema.json';

export function configJsonSchema(): Record<string, unknown> {
  // What a file author writes: defaults make keys optional (io: 'input'). Refinements (time zones,
  // unique names) have no JSON Schema form; adpipe checks them when it loads the file.
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  return { ...schema, title: 'adpipe.yaml', description: 'adpipe configuration (docs/configuration.md)' };
}

/** The file's text: stable key order as generated, two-space indent, final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
