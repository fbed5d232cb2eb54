import path from 'node:path';
import type { Command } from 'commander';
import { type Config, serverSchema } from '../../config.js';
import { usage } from '../../errors.js';
import { logger } from '../../logger.js';
import { collectorPublisher } from '../../server/collector/waiting-publisher.js';
import { runPublishServer, runServer } from '../../server/run.js';
import { startSinkSubscribers } from '../../sinks/subscriber.js';
import { contextOf, intOption } from '../context.js';
import { withWriter } from '../writer.js';

type TrustProxy = Config['server']['trust_proxy'];

interface ServeOptions {
  port?: number;
  host?: string;
  publish?: string;
  trustProxy?: TrustProxy;
}

/** --trust-proxy, checked as server.trust_proxy is in adpipe.yaml. */
function trustProxyOption(value: string): TrustProxy {
  const given = value === 'true' ? true : value === 'false' ? false : value.split(',').map((v) => v.trim());
  const parsed = serverSchema.shape.trust_proxy.safeParse(given);
  if (!parsed.success) throw usage(`--trust-proxy ${parsed.error.issues[0]!.message}, got ${value}`);
  return parsed.data;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve the collector, the query API and the dashboard on one port; with --publish, only a stateless collector',
    )
    .option('-p, --port <port>', 'port (default: config server.port, 8080)', intOption('--port'))
    .option('--host <host>', 'address to listen on (default: config server.host)')
    .option(
      '--trust-proxy <proxies>',
      'take the client address from X-Forwarded-For when the peer is one of these proxies (a load balancer): ' +
        'true (any), false, or addresses and CIDR ranges separated by commas (default: config server.trust_proxy)',
      trustProxyOption,
    )
    .option(
      '--publish <url>',
      'publish accepted events to a broker (kafka://host:9092/topic, redis://…, nats://…; default: config ' +
        'server.publish) instead of the spool: serves only the collector routes, /healthz, /readyz and /metrics, ' +
        'with no warehouse, no loading, no query API or dashboard and no data-dir lock, so several run side by ' +
        'side; rejected records still go to <data-dir>/deadletter',
    )
    .action(async (opts: ServeOptions, cmd: Command) => {
      const { config: file, dataDir } = contextOf(cmd);
      const trust_proxy = opts.trustProxy ?? file.server.trust_proxy;
      const config = { ...file, server: { ...file.server, trust_proxy } };
      const port = opts.port ?? config.server.port;
      const host = opts.host ?? config.server.host;
      const publish = opts.publish ?? config.server.publish;
      if (publish !== undefined) {
        // Loading is the loaders' job (adpipe stream --from …): a publishing collector has no runtime.
        if (config.sources.length > 0 || config.sinks.length > 0)
          logger.warn('serve --publish loads nothing: the sources and sinks of the config are ignored');
        const { publisher, url: broker } = await collectorPublisher(publish);
        await runPublishServer({
          config,
          publisher,
          broker,
          deadLetterDir: path.join(dataDir, 'deadletter'),
          port,
          host,
          onListening: (address) =>
            console.log(`adpipe serving on ${address} (publishing to ${broker.shown})`),
        });
        return;
      }
      await withWriter(dataDir, async (warehouse) => {
        await runServer({
          config,
          dataDir,
          warehouse,
          // Each sink syncs after the commits, in the background: intake never waits on a sink.
          subscribers: await startSinkSubscribers(config, warehouse),
          port,
          host,
          onListening: (address) => console.log(`adpipe serving on ${address} (data dir ${dataDir})`),
        });
      });
    });
}
