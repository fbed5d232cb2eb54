// Every analysis by name, and their output as a table, CSV or JSON (the same rows and fields).

import { AdpipeError } from '../errors.js';
import { type OutputFormat, toCsv, toTable } from '../reports/format.js';
import { ab } from './ab.js';
import { activeUsers } from './active-users.js';
import type { Analysis, AnalysisResult } from './analysis.js';
import { attribution } from './attribution.js';
import { audiences } from './audiences.js';
import { retention } from './retention.js';
import { segments } from './segments.js';
import { sessions } from './sessions.js';

export const ANALYSES: readonly Analysis[] = [
  activeUsers,
  retention,
  sessions,
  segments,
  attribution,
  ab,
  audiences,
];

export function findAnalysis(name: string): Analysis {
  const analysis = ANALYSES.find((a) => a.name === name);
  if (!analysis)
    throw new AdpipeError('ADP_ERR_ANALYSIS_UNKNOWN', [
      `${name} (known: ${ANALYSES.map((a) => a.name).join(', ')})`,
    ]);
  return analysis;
}

export function formatAnalysis(result: AnalysisResult, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(result, null, 2)}\n`;
  if (format === 'csv') return toCsv(result);
  const { from, to, tz, events_without_user, warnings } = result.meta;
  const footer = [
    `(${result.rows.length} rows, ${result.analysis}, ${from} to ${to} in ${tz}; ${events_without_user} events without a user left out)`,
    ...warnings,
  ];
  return toTable(result, footer.join('\n'));
}
