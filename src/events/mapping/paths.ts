// Source paths of a mapping: names joined by dots into objects and [n] into arrays (`ads[0].aid`),
// read alike by the SQL compiler (as a DuckDB JSON path) and the JS one (as a list of steps).

/** One step into a record: an object's key or an array's index. */
export type Step = string | number;
export type SourcePath = readonly Step[];

/** Names hold no dot, bracket or quote (a quote would need escaping in a DuckDB JSON path). */
const PATH = /^[^.[\]"]+(?:\[\d+\])*(?:\.[^.[\]"]+(?:\[\d+\])*)*$/;

/** The steps of a path, or undefined when it is not one. */
export function parseSourcePath(path: string): SourcePath | undefined {
  if (!PATH.test(path)) return undefined;
  const steps: Step[] = [];
  for (const part of path.split('.')) {
    const bracket = part.indexOf('[');
    steps.push(bracket < 0 ? part : part.slice(0, bracket));
    if (bracket >= 0) for (const m of part.slice(bracket).matchAll(/\[(\d+)\]/g)) steps.push(Number(m[1]));
  }
  return steps;
}

/** The DuckDB JSON path of a source path, keys quoted so spaces and other marks are names too. */
export function jsonPathOf(path: SourcePath): string {
  return `$${path.map((s) => (typeof s === 'number' ? `[${s}]` : `."${s}"`)).join('')}`;
}

/** The value at `path` in a parsed record, undefined where a step finds nothing. */
export function valueAt(record: unknown, path: SourcePath): unknown {
  let v: unknown = record;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(v)) return undefined;
      v = v[step];
    } else {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, step))
        return undefined;
      v = (v as Record<string, unknown>)[step];
    }
  }
  return v;
}
