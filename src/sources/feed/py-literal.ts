// A payload parser for feeds: JSON, or a Python literal as `repr()` of a dict prints it (seed 003
// decodes its payloads with `eval`). Data only, like Python's ast.literal_eval without sets, bytes
// or complex numbers: strings in single or double quotes with Python's escapes, True/False/None
// (and JSON's true/false/null), ints and floats, dicts, lists and tuples (as arrays), trailing
// commas. A name, a call, an operator or anything else is refused: nothing is ever evaluated.
// Numbers keep their text, so a revenue of 0.1 + digits reaches the loader's exact decimals as written.

import { AdpipeError } from '../../errors.js';

/** A number as written in the payload (normalised to JSON's grammar), never through a double. */
export class NumberText {
  constructor(readonly text: string) {}
}

export type LiteralValue =
  | null
  | boolean
  | string
  | NumberText
  | LiteralValue[]
  | { [key: string]: LiteralValue };

/** Deeper nesting than any event needs; bounds the recursion on hostile input. */
const MAX_DEPTH = 64;

const NAMES: Record<string, LiteralValue> = {
  True: true,
  False: false,
  None: null,
  true: true,
  false: false,
  null: null,
};

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '/': '/', // JSON's escaped slash
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

// Python ints and floats (underscores between digits), JSON numbers are a subset.
const DIGITS = '[0-9](?:_?[0-9])*';
const NUMBER = new RegExp(
  `[-+]?(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][-+]?${DIGITS})?`,
  'y',
);

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new AdpipeError('ADP_ERR_SOURCE_FEED_PAYLOAD', [`${what} at offset ${this.pos}`]);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && ' \t\r\n'.includes(this.text[this.pos] as string)) this.pos++;
  }

  document(): LiteralValue {
    const value = this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail('unexpected text after the value');
    return value;
  }

  value(depth: number): LiteralValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') return this.dict(depth);
    if (c === '[') return this.sequence(']', depth);
    if (c === '(') return this.parenthesised(depth);
    if (c === '"' || c === "'") return this.string();
    if (c !== undefined && /[A-Za-z_]/.test(c)) return this.name();
    return this.number();
  }

  private expect(char: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== char) this.fail(`expected '${char}'`);
    this.pos++;
  }

  /** Items up to `close`, comma-separated, a trailing comma allowed; the opening bracket is consumed. */
  private items(close: string, item: () => void): number {
    this.pos++;
    let count = 0;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return count;
      }
      item();
      count++;
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private dict(depth: number): LiteralValue {
    const out: { [key: string]: LiteralValue } = {};
    this.items('}', () => {
      const key = this.value(depth + 1);
      if (typeof key !== 'string' && !(key instanceof NumberText))
        this.fail('a dict key must be a string or a number');
      this.expect(':');
      const k = typeof key === 'string' ? key : key.text;
      // Object.defineProperty: a key named __proto__ is data, not the prototype.
      Object.defineProperty(out, k, {
        value: this.value(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    });
    return out;
  }

  private sequence(close: string, depth: number): LiteralValue[] {
    const out: LiteralValue[] = [];
    this.items(close, () => out.push(this.value(depth + 1)));
    return out;
  }

  /** `(x)` is x; `()`, `(x,)` and `(x, y)` are tuples. */
  private parenthesised(depth: number): LiteralValue {
    const start = this.pos;
    const out = this.sequence(')', depth);
    const inner = this.text.slice(start + 1, this.pos - 1).trimEnd();
    return out.length === 1 && !inner.endsWith(',') ? (out[0] as LiteralValue) : out;
  }

  private name(): LiteralValue {
    const match = /[A-Za-z_][A-Za-z0-9_]*/y;
    match.lastIndex = this.pos;
    const word = (match.exec(this.text) as RegExpExecArray)[0];
    if (!Object.hasOwn(NAMES, word)) this.fail(`name '${word.slice(0, 40)}' is not a literal`);
    this.pos += word.length;
    return NAMES[word] as LiteralValue;
  }

  private number(): NumberText {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m === null) this.fail('expected a value');
    this.pos += m[0].length;
    if (/^[A-Za-z_.]/.test(this.text[this.pos] ?? ' ')) this.fail('not a plain number');
    // To JSON's grammar: no '+', no '_', no leading zeros, a digit on both sides of the point.
    let text = m[0].replace(/_/g, '').replace(/^\+/, '');
    text = text
      .replace(/^(-?)0+(?=\d)/, '$1')
      .replace(/^(-?)\./, '$10.')
      .replace(/\.(?=$|[eE])/, '.0');
    return new NumberText(text);
  }

  private string(): string {
    const quote = this.text[this.pos] as string;
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n') this.fail('unterminated string');
      this.pos++;
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      out += this.escape();
    }
  }

  private escape(): string {
    const e = this.text[this.pos];
    if (e === undefined) this.fail('unterminated string');
    this.pos++;
    if (Object.hasOwn(SIMPLE_ESCAPES, e)) return SIMPLE_ESCAPES[e] as string;
    if (e === '\n') return ''; // line continuation
    if (e === 'x') return this.codePoint(2);
    if (e === 'u') return this.codePoint(4);
    if (e === 'U') return this.codePoint(8);
    if (/[0-7]/.test(e)) {
      const oct = /[0-7]{1,3}/y;
      oct.lastIndex = this.pos - 1;
      const digits = (oct.exec(this.text) as RegExpExecArray)[0];
      this.pos += digits.length - 1;
      return String.fromCodePoint(Number.parseInt(digits, 8));
    }
    // Python keeps an unknown escape as written.
    return `\\${e}`;
  }

  private codePoint(width: number): string {
    const hex = this.text.slice(this.pos, this.pos + width);
    if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex))
      this.fail(`bad \\${width === 2 ? 'x' : 'u'} escape`);
    const cp = Number.parseInt(hex, 16);
    if (cp > 0x10ffff) this.fail('code point out of range');
    this.pos += width;
    // JSON's surrogate pairs (\ud83d\ude00) become one character.
    if (
      width === 4 &&
      cp >= 0xd800 &&
      cp <= 0xdbff &&
      /^\\u[dD][c-fC-F][0-9a-fA-F]{2}/.test(this.text.slice(this.pos))
    ) {
      const low = Number.parseInt(this.text.slice(this.pos + 2, this.pos + 6), 16);
      this.pos += 6;
      return String.fromCodePoint(0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00));
    }
    return String.fromCodePoint(cp);
  }
}

/** Parses JSON or a Python data literal. Throws ADP_ERR_SOURCE_FEED_PAYLOAD saying where it stopped. */
export function parseLiteral(text: string): LiteralValue {
  return new Parser(text).document();
}

/**
 * JSON text of a parsed value, numbers as written. `sortKeys` gives the canonical form that
 * content-hash ids are taken of (same record, same text, whatever the key order on the wire).
 */
export function literalToJson(value: LiteralValue, sortKeys = false): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof NumberText) return value.text;
  if (Array.isArray(value)) return `[${value.map((v) => literalToJson(v, sortKeys)).join(',')}]`;
  const keys = Object.keys(value);
  if (sortKeys) keys.sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${literalToJson(value[k] as LiteralValue, sortKeys)}`).join(',')}}`;
}
