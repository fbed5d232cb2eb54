import type { Command } from 'commander';
import { usage } from '../../errors.js';
import { signedClickUrl } from '../../server/collector/click-signature.js';
import { contextOf } from '../context.js';

/** `adpipe sign-click`: prints a click URL the collector will record and redirect (server.secret). */
export function register(program: Command): void {
  program
    .command('sign-click')
    .description('Print a signed click URL (GET /c) that redirects to --url; signed with server.secret')
    .requiredOption('--url <url>', 'destination (http or https)')
    .option(
      '--param <k=v>',
      'event field to record with the click (repeatable)',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--base <url>', 'collector base URL', 'http://127.0.0.1:8080')
    .action((opts: { url: string; param: string[]; base: string }, cmd: Command) => {
      const { config } = contextOf(cmd);
      const secret = config.server.secret;
      if (!secret) throw usage('server.secret is not set in the config');
      if (!/^https?:\/\//i.test(opts.url)) throw usage('--url must be an http or https URL');
      const params: Record<string, string> = {};
      for (const p of opts.param) {
        const eq = p.indexOf('=');
        if (eq < 1) throw usage(`--param expects k=v, got ${p}`);
        params[p.slice(0, eq)] = p.slice(eq + 1);
      }
      if ('sig' in params || 'url' in params) throw usage('--param may not set sig or url');
      console.log(signedClickUrl(opts.base, { ...params, url: opts.url }, secret));
    });
}
