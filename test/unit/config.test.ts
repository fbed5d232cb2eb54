import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig, parseConfig } from '../../src/config.js';

// Config values spell environment references as literal `${NAME}` strings.
const env = (name: string) => `$${'{'}${name}}`;

describe('adpipe.yaml', () => {
  it('defaults every field', () => {
    const c = parseConfig({});
    expect(c.tz).toBe('UTC');
    expect(c.ingest.batch_files).toBe(10);
    expect(c.server.port).toBe(8080);
    expect(c.sinks).toEqual([]);
  });

  it('rejects unknown keys with their path', () => {
    expect(() => parseConfig({ server: { prot: 1 } })).toThrow(/server: Unrecognized key.*prot/);
    expect(() => parseConfig({ bogus: true })).toThrow(/bogus/);
  });

  it('rejects a time zone that is not IANA', () => {
    expect(() => parseConfig({ tz: 'Mars/Olympus' })).toThrow(/tz: not an IANA time zone/);
  });

  it('expands environment references and fails clearly when the variable is missing', () => {
    process.env.ADPIPE_TEST_SINK_URL = 'postgres://x@127.0.0.1/db';
    const c = parseConfig({ sinks: [{ type: 'postgres', url: env('ADPIPE_TEST_SINK_URL') }] });
    expect(c.sinks[0]!.url).toBe('postgres://x@127.0.0.1/db');
    expect(() => parseConfig({ sinks: [{ type: 'postgres', url: env('ADPIPE_NOPE_NOT_SET') }] })).toThrow(
      /ADPIPE_NOPE_NOT_SET is not set/,
    );
  });

  it('reads YAML files and reports YAML syntax errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'adpipe-config-'));
    const good = path.join(dir, 'good.yaml');
    writeFileSync(good, 'tz: Asia/Seoul\ningest:\n  batch_files: 3\n');
    expect(loadConfig(good).ingest.batch_files).toBe(3);
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'tz: [unclosed\n');
    expect(() => loadConfig(bad)).toThrow(/not valid YAML/);
  });
});

describe('the documented example', () => {
  it('docs/configuration.md’s adpipe.yaml parses and validates as written', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(yaml, 'a yaml block in docs/configuration.md').toBeDefined();
    const env = {
      ADPIPE_WRITE_KEY: 'write-key-1',
      ADPIPE_READ_KEY: 'read-key-1',
      ADPIPE_ADMIN_KEY: 'admin-key-1',
      ADPIPE_CLICK_SECRET: 'click-secret-0123456789',
      SLACK_WEBHOOK_URL: 'https://hooks.example/x',
      REPORTS_MYSQL_URL: 'mysql://u@127.0.0.1:3306/r',
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      const config = parseConfig(parseYaml(yaml!));
      expect(config.server.write_keys).toEqual(['write-key-1']);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
