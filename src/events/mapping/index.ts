// Mappings: a source's records into contract records, before validation (docs/events.md, "Mapping
// your data"). One parsed mapping, two compilers: SQL for files and streams, JS for the collector.

export { compileMappingJs, contentId, type MappingResult, type MapRecord, validateMappedText } from './js.js';
export { loadMapping, type Mapping, parseMapping } from './schema.js';
export { mappedEventsSql, mappedLinesSql } from './sql.js';
