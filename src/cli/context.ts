import type { Command } from 'commander';
import { type Config, loadConfig, resolveDataDir } from '../config.js';

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
