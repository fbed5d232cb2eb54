// One registry per component kind (sources, sinks): each entry names its type, owns its zod config
// schema and makes the component. adpipe.yaml's `sources:` and `sinks:` are the discriminated union of
// the registered schemas, so a new kind is one registration, not an edit of the config module.

import { z } from 'zod';
import { AdpipeError } from '../errors.js';

/** A config object discriminated by a literal `type`. */
export type TypedConfigSchema = z.ZodObject<{ type: z.ZodLiteral<string> } & z.ZodRawShape>;

export interface Component<Schema extends TypedConfigSchema, Ctx, T> {
  readonly type: string;
  /** One line for `--help` and the generated JSON Schema. */
  readonly summary: string;
  readonly schema: Schema;
  create(config: z.infer<Schema>, ctx: Ctx): Promise<T>;
}

export class Registry<Ctx, T> {
  // biome-ignore lint/suspicious/noExplicitAny: entries differ in their config type; `get` narrows by type.
  private readonly entries = new Map<string, Component<any, Ctx, T>>();

  constructor(readonly kind: string) {}

  register<S extends TypedConfigSchema>(component: Component<S, Ctx, T>): void {
    if (this.entries.has(component.type))
      throw new Error(`${this.kind} type ${component.type} is registered twice`);
    this.entries.set(component.type, component);
  }

  // biome-ignore lint/suspicious/noExplicitAny: see entries.
  get(type: string): Component<any, Ctx, T> {
    const found = this.entries.get(type);
    if (!found)
      throw new AdpipeError('ADP_ERR_CONFIG', [
        `unknown ${this.kind} type ${type} (known: ${this.types().join(', ')})`,
      ]);
    return found;
  }

  types(): string[] {
    return [...this.entries.keys()];
  }

  /** Every registered config schema as one union discriminated by `type`. */
  configSchema() {
    const schemas = [...this.entries.values()].map((c) => c.schema.describe(c.summary));
    if (schemas.length === 0) throw new Error(`no ${this.kind} type is registered`);
    return z.discriminatedUnion('type', schemas as [TypedConfigSchema, ...TypedConfigSchema[]]);
  }
}
