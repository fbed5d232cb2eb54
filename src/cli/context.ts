import type { Command } from 'commander';
import { type Config, loadConfig, resolveDataDir } from '../config.js';
import { usage } from '../errors.js';
import { INTERVAL_PATTERN } from '../util/every.js';

/** What every command needs: the validated config and the data directory, from global options. */
export interface CliContext {
  config: Config;
  dataDir: string;
}

export function contextOf(cmd: Command): CliContext {
  const opts = cmd.optsWithGlobals() as { config?: string; dataDir?: string };
  const config = loadConfig(opts.config);
  return { config, dataDir: resolveDataDir(opts.dataDir, config) };
}

/** Parses a positive integer option with a clear error. */
export function intOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`${name} must be a non-negative integer, got ${value}`);
    return n;
  };
}

/** An interval flag (`5s`, `5m`, `1h`), refused as a usage error naming the flag and an example. */
export function intervalOption(name: string, example: string) {
  return (value: string): string => {
    if (!INTERVAL_PATTERN.test(value))
      throw usage(`${name} takes a number and s, m or h (e.g. ${example}), got ${value}`);
    return value;
  };
}
