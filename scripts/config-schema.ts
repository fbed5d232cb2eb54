// `npm run schema`: rewrites docs/adpipe.schema.json from the config's zod schema.
import { writeFileSync } from 'node:fs';
import { CONFIG_JSON_SCHEMA_FILE, configJsonSchemaText } from '../src/config-json-schema.js';

writeFileSync(CONFIG_JSON_SCHEMA_FILE, configJsonSchemaText());
console.log(`wrote ${CONFIG_JSON_SCHEMA_FILE}`);
