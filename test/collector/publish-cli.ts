// The adpipe CLI from source, with `serve --publish kafka://…` publishing through the real Kafka client
// of test/helpers/kafka-publisher.ts until the Kafka broker module is merged into brokers.ts.
import { main } from '../../src/cli/main.js';
import { brokerOverrides } from '../../src/server/publisher.js';
import { testKafkaBroker } from '../helpers/kafka-publisher.js';

brokerOverrides.set('kafka', testKafkaBroker);
await main(process.argv);
