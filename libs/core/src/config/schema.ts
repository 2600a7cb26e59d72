/**
 * A small schema language for specs and plugin configs. Validation names the exact path of a bad field and what
 * would have been allowed, e.g. `train.lr: expected a number > 0, got "fast"`. The same schema gives the TypeScript
 * type (its parse's result) and its JSON Schema (for the API's OpenAPI document), so the three never drift apart.
 */
export type Schema<T> = {
  readonly describe: string;
  parse(value: unknown, path: string): T;
  /** The values it accepts as JSON Schema (2020-12, as OpenAPI 3.1 uses); a hand-made schema may leave it out. */
  readonly jsonSchema?: JsonSchema;
};

export type JsonSchema = { readonly [keyword: string]: unknown };

/** A schema's JSON Schema, or its description where it has none. */
export function jsonSchemaOf(schema: Schema<unknown>): JsonSchema {
  return schema.jsonSchema ?? { description: schema.describe };
}

export class SpecError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'SpecError';
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? text.slice(0, 57) + '...' : text;
}

export interface NumberOptions {
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  greaterThan?: number;
  integer?: boolean;
}

export function number(options: NumberOptions = {}): Schema<number> {
  const bounds: string[] = [];
  if (options.greaterThan !== undefined) bounds.push(`> ${options.greaterThan}`);
  if (options.min !== undefined) bounds.push(`>= ${options.min}`);
  if (options.max !== undefined) bounds.push(`<= ${options.max}`);
  const describe = [options.integer ? 'an integer' : 'a number', bounds.join(' and ')].filter(Boolean).join(' ');
  return {
    describe,
    jsonSchema: {
      type: options.integer ? 'integer' : 'number',
      ...(options.greaterThan !== undefined && { exclusiveMinimum: options.greaterThan }),
      ...(options.min !== undefined && { minimum: options.min }),
      ...(options.max !== undefined && { maximum: options.max }),
    },
    parse(value, path) {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (!options.integer || Number.isInteger(value)) &&
        (options.greaterThan === undefined || value > options.greaterThan) &&
        (options.min === undefined || value >= options.min) &&
        (options.max === undefined || value <= options.max);
      if (!ok) throw new SpecError(path, `expected ${describe}, got ${show(value)}`);
      return value as number;
    },
  };
}

export function integer(options: Omit<NumberOptions, 'integer'> = {}): Schema<number> {
  return number({ ...options, integer: true });
}

export function string(options: { nonEmpty?: boolean } = {}): Schema<string> {
  return {
    describe: 'a string',
    jsonSchema: { type: 'string', ...(options.nonEmpty && { minLength: 1 }) },
    parse(value, path) {
      if (typeof value !== 'string' || (options.nonEmpty && value.length === 0))
        throw new SpecError(path, `expected a${options.nonEmpty ? ' non-empty' : ''} string, got ${show(value)}`);
      return value;
    },
  };
}

export function boolean(): Schema<boolean> {
  return {
    describe: 'true or false',
    jsonSchema: { type: 'boolean' },
    parse(value, path) {
      if (typeof value !== 'boolean') throw new SpecError(path, `expected true or false, got ${show(value)}`);
      return value;
    },
  };
}

export function oneOf<const V extends string>(values: readonly V[]): Schema<V> {
  const describe = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return {
    describe,
    jsonSchema: { enum: [...values] },
    parse(value, path) {
      if (typeof value !== 'string' || !values.includes(value as V))
        throw new SpecError(path, `expected ${describe}, got ${show(value)}`);
      return value as V;
    },
  };
}

export function arrayOf<T>(item: Schema<T>, options: { minLength?: number } = {}): Schema<T[]> {
  return {
    describe: `a list of ${item.describe}`,
    jsonSchema: { type: 'array', items: jsonSchemaOf(item), ...(options.minLength !== undefined && { minItems: options.minLength }) },
    parse(value, path) {
      if (!Array.isArray(value)) throw new SpecError(path, `expected a list, got ${show(value)}`);
      if (options.minLength !== undefined && value.length < options.minLength)
        throw new SpecError(path, `expected at least ${options.minLength} entries, got ${value.length}`);
      return value.map((v, i) => item.parse(v, `${path}[${i}]`));
    },
  };
}

type Field<T> = { schema: Schema<T>; default?: T; optional?: boolean };
type Fields = Record<string, Field<unknown>>;
type FieldValue<F> = F extends Field<infer T> ? (F extends { optional: true } ? T | undefined : T) : never;
export type Infer<F extends Fields> = { [K in keyof F]: FieldValue<F[K]> };

/** A required field, or one filled with `fallback` when absent. */
export function field<T>(schema: Schema<T>, fallback?: T): Field<T> {
  return fallback === undefined ? { schema } : { schema, default: fallback };
}

/** A field that may be absent (stays undefined). */
export function optional<T>(schema: Schema<T>): Field<T> & { optional: true } {
  return { schema, optional: true };
}

/** An object with known fields; unknown keys are refused (a typo should never be silently ignored). */
export function object<F extends Fields>(fields: F): Schema<Infer<F>> {
  const entries = Object.entries(fields);
  return {
    describe: 'an object',
    jsonSchema: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(entries.map(([key, f]) => [key, { ...jsonSchemaOf(f.schema), ...(f.default !== undefined && { default: f.default }) }])),
      required: entries.filter(([, f]) => f.default === undefined && !f.optional).map(([key]) => key),
    },
    parse(value, path) {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new SpecError(path, `expected an object, got ${show(value)}`);
      const input = value as Record<string, unknown>;
      for (const key of Object.keys(input)) {
        if (!(key in fields))
          throw new SpecError(`${path}.${key}`, `unknown field; allowed fields are ${Object.keys(fields).join(', ')}`);
      }
      const out: Record<string, unknown> = {};
      for (const [key, f] of Object.entries(fields)) {
        const v = input[key];
        if (v === undefined) {
          if (f.default !== undefined) out[key] = structuredClone(f.default);
          else if (!f.optional) throw new SpecError(`${path}.${key}`, `missing; expected ${f.schema.describe}`);
          continue;
        }
        out[key] = f.schema.parse(v, `${path}.${key}`);
      }
      return out as Infer<F>;
    },
  };
}

/** Free-form JSON (for a plugin's config, validated later by the plugin's own schema). */
export function json(): Schema<Record<string, unknown>> {
  return {
    describe: 'an object',
    jsonSchema: { type: 'object' },
    parse(value, path) {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new SpecError(path, `expected an object, got ${show(value)}`);
      return value as Record<string, unknown>;
    },
  };
}
