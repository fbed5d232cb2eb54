// Deeply nested JSON without recursion: V8's JSON.parse is iterative, but JSON.stringify and any
// recursive walk overflow the stack on a value nested some thousand levels deep, so a hostile
// record is measured and written back out here, with explicit stacks.

type Json = unknown;

const children = (v: Json): Json[] =>
  Array.isArray(v) ? v : v !== null && typeof v === 'object' ? Object.values(v) : [];

/** True when `value` has more than `max` levels of objects and arrays (a flat object has one). */
export function deeperThan(value: Json, max: number): boolean {
  const stack: Array<[Json, number]> = [[value, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [v, depth] = top;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const c of children(v)) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
  return false;
}

/** JSON.stringify's text of a parsed JSON value, at any depth. */
export function stringifyDeep(value: Json): string {
  let out = '';
  // Each entry is a value to write, or a piece of punctuation to write as it stands.
  const todo: Array<{ text: string } | { value: Json }> = [{ value }];
  for (let item = todo.pop(); item; item = todo.pop()) {
    if ('text' in item) {
      out += item.text;
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      out += JSON.stringify(v) ?? 'null';
      continue;
    }
    const array = Array.isArray(v);
    const entries = array
      ? v.map((x) => ['', x] as const)
      : Object.entries(v).filter(([, x]) => x !== undefined);
    // Pushed in reverse: the stack pops them in order.
    todo.push({ text: array ? ']' : '}' });
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, x] = entries[i]!;
      todo.push({ value: x });
      if (!array) todo.push({ text: `${JSON.stringify(key)}:` });
      if (i > 0) todo.push({ text: ',' });
    }
    out += array ? '[' : '{';
  }
  return out;
}
