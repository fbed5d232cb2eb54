// docs/adpipe.schema.json is generated from the config's zod schema: it must be the current one, and
// the documented example config must be one adpipe accepts.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config.js';
import { CONFIG_JSON_SCHEMA_FILE, configJsonSchemaText } from '../../src/config-json-schema.js';

describe('adpipe.yaml JSON Schema', () => {
  it('is checked in as generated (run `npm run schema` after changing the config schema)', () => {
    expect(readFileSync(CONFIG_JSON_SCHEMA_FILE, 'utf8')).toBe(configJsonSchemaText());
  });

  it('lists every sink type with its own keys, unknown keys refused, defaults optional', () => {
    const schema = JSON.parse(configJsonSchemaText());
    const variants = schema.properties.sinks.items.oneOf as Array<{
      properties: Record<string, { const?: string }>;
      required: string[];
      additionalProperties: boolean;
      description: string;
    }>;
    expect(variants.map((v) => v.properties.type!.const).sort()).toEqual([
      'clickhouse',
      'lake',
      'mysql',
      'postgres',
    ]);
    for (const v of variants) {
      expect(v.additionalProperties).toBe(false);
      expect(v.required.sort()).toEqual(['type', 'url']);
      expect(Object.keys(v.properties)).toContain('retry_max_ms');
      expect(Object.keys(v.properties)).not.toContain('batch_rows');
      expect(v.description).toBeTruthy();
    }
  });

  it('documents an example config that adpipe accepts', () => {
    const doc = readFileSync('docs/configuration.md', 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    expect(example).toMatch(/^# yaml-language-server: \$schema=\S+adpipe\.schema\.json$/m);
    // Every variable as a URL long enough for a key or a secret.
    const env = (text: string) => text.replace(/\$\{[A-Z0-9_]+\}/g, 'https://example.test/0123456789');
    const config = parseConfig(parseYaml(env(example)));
    expect(config.sinks.map((s) => s.type)).toEqual(['mysql']);
  });
});
