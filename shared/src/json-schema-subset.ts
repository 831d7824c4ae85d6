/**
 * The JSON Schema subset structured output supports, compiled to a small tree of `SchemaNode`s
 * that a constrained decoder can follow byte by byte. Pure (no runtime imports): the edge uses it
 * to refuse an unsupported schema before routing, the origin to build the decoder, so both agree
 * on what is supported. Anything outside the subset is refused with a message naming the keyword
 * and where it sits, never ignored: ignoring a keyword would return output the client's own
 * validator rejects.
 */

/** A compiled schema: what the decoder may generate at one position. */
export type SchemaNode =
  | { kind: 'any' }
  | { kind: 'object'; props: ObjectProperty[]; anyKeys: boolean }
  | { kind: 'array'; items: SchemaNode; minItems: number; maxItems: number }
  | { kind: 'string'; minLength: number; maxLength: number }
  | { kind: 'number'; integer: boolean; min: number; max: number }
  /** A finite set of JSON values (enum, const, boolean, null), matched by their compact text. */
  | { kind: 'literal'; texts: string[] }
  | { kind: 'anyOf'; options: SchemaNode[] };

export interface ObjectProperty {
  name: string;
  node: SchemaNode;
  required: boolean;
}

/** Size bounds: the decoder's state and its per-step work stay small whatever the schema. */
export const SCHEMA_LIMITS = {
  /** Compiled nodes in one schema ($ref targets count once). */
  nodes: 512,
  /** Declared properties of one object (the decoder tracks the ones written in a 32-bit set). */
  properties: 32,
  enumValues: 256,
  /** Bytes of one enum/const value's JSON text. */
  literalBytes: 256,
  /** minItems / minLength: how much output a schema may force. */
  forcedLength: 1024,
} as const;

/** Levels of objects and arrays a schema may nest (the schema itself is 1): the compiler recurses. */
export const SCHEMA_DEPTH = 32;

/** Levels of objects and arrays in a JSON value, counted without recursion (no stack to overflow). */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) max = depth;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

/** Keywords that only describe (no effect on which documents are valid): accepted, ignored. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  '$schema',
  '$id',
  '$comment',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$defs',
  'definitions',
]);
const TYPE_KEYWORDS: Record<string, readonly string[]> = {
  object: ['properties', 'required', 'additionalProperties'],
  array: ['items', 'minItems', 'maxItems'],
  string: ['minLength', 'maxLength'],
  integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  boolean: [],
  null: [],
};
const COMMON = new Set(['type', 'enum', 'const', 'anyOf', '$ref', ...ANNOTATIONS]);

/** The schema is outside the supported subset; `message` names the keyword and its location. */
export class UnsupportedSchemaError extends Error {
  constructor(
    readonly keyword: string,
    readonly at: string,
    detail: string,
  ) {
    super(`${detail} (at ${at})`);
    this.name = 'UnsupportedSchemaError';
  }
}

/** Any JSON value (`response_format: json_object` asks for an object of these). */
export const ANY_NODE: SchemaNode = { kind: 'any' };
/** Any JSON object. */
export const ANY_OBJECT: SchemaNode = { kind: 'object', props: [], anyKeys: true };

type Json = Record<string, unknown>;

/** Compile `schema` (a json_schema's `schema`), or throw UnsupportedSchemaError. */
export function compileJsonSchema(schema: Json): SchemaNode {
  return new Compiler(schema).compile(schema, '#');
}

/** Why `schema` is unsupported, or undefined when it compiles. */
export function unsupportedSchemaReason(schema: Json): string | undefined {
  try {
    compileJsonSchema(schema);
    return undefined;
  } catch (err) {
    if (err instanceof UnsupportedSchemaError) return err.message;
    throw err;
  }
}

class Compiler {
  private nodes = 0;
  private readonly refs = new Map<string, SchemaNode>();
  private readonly resolving = new Set<string>();

  constructor(private readonly root: Json) {}

  compile(s: unknown, at: string): SchemaNode {
    if (s === true) return this.count(ANY_NODE, at);
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new UnsupportedSchemaError('schema', at, 'a schema must be an object');
    const schema = s as Json;
    if (schema.$ref !== undefined) return this.ref(schema, at);
    if (schema.anyOf !== undefined) return this.anyOf(schema, at);
    if (schema.const !== undefined || schema.enum !== undefined) return this.literal(schema, at);
    const type = schema.type ?? (schema.properties !== undefined ? 'object' : undefined);
    if (type === undefined) {
      this.allow(schema, [], at);
      return this.count(ANY_NODE, at);
    }
    if (Array.isArray(type)) {
      if (type.length === 0) throw new UnsupportedSchemaError('type', at, 'an empty type list matches nothing');
      // Each listed type takes its own keywords and ignores the others' (maxLength on ["string", "null"]).
      const keywords = type.flatMap((t) => TYPE_KEYWORDS[String(t)] ?? []);
      const options = type.map((t) => this.typed({ ...schema, type: t }, String(t), at, keywords));
      return options.length === 1 ? options[0]! : this.count({ kind: 'anyOf', options }, at);
    }
    return this.typed(schema, String(type), at);
  }

  private count(node: SchemaNode, at: string): SchemaNode {
    if (++this.nodes > SCHEMA_LIMITS.nodes) throw new UnsupportedSchemaError('schema', at, `the schema has more than ${SCHEMA_LIMITS.nodes} parts`);
    return node;
  }

  private allow(schema: Json, keywords: readonly string[], at: string): void {
    for (const key of Object.keys(schema)) {
      if (!COMMON.has(key) && !keywords.includes(key)) throw new UnsupportedSchemaError(key, at, `'${key}' is not supported in response_format schemas`);
    }
  }

  private typed(schema: Json, type: string, at: string, listed: readonly string[] = []): SchemaNode {
    const keywords = TYPE_KEYWORDS[type];
    if (!keywords) throw new UnsupportedSchemaError('type', at, `type '${type}' is not supported`);
    this.allow(schema, [...keywords, ...listed], at);
    switch (type) {
      case 'object':
        return this.object(schema, at);
      case 'array': {
        const minItems = bound(schema, 'minItems', 0, at);
        const maxItems = bound(schema, 'maxItems', Infinity, at);
        if (minItems > maxItems) throw new UnsupportedSchemaError('minItems', at, 'minItems is larger than maxItems');
        const items = schema.items === undefined ? ANY_NODE : this.compile(schema.items, `${at}/items`);
        return this.count({ kind: 'array', items, minItems, maxItems }, at);
      }
      case 'string': {
        const minLength = bound(schema, 'minLength', 0, at);
        const maxLength = bound(schema, 'maxLength', Infinity, at);
        if (minLength > maxLength) throw new UnsupportedSchemaError('minLength', at, 'minLength is larger than maxLength');
        return this.count({ kind: 'string', minLength, maxLength }, at);
      }
      case 'integer':
      case 'number':
        return this.number(schema, type === 'integer', at);
      case 'boolean':
        return this.count({ kind: 'literal', texts: ['true', 'false'] }, at);
      default:
        return this.count({ kind: 'literal', texts: ['null'] }, at);
    }
  }

  private object(schema: Json, at: string): SchemaNode {
    const properties = schema.properties ?? {};
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties))
      throw new UnsupportedSchemaError('properties', at, 'properties must be an object');
    const names = Object.keys(properties);
    if (names.length > SCHEMA_LIMITS.properties)
      throw new UnsupportedSchemaError('properties', at, `more than ${SCHEMA_LIMITS.properties} properties in one object`);
    const required = schema.required ?? [];
    if (!Array.isArray(required) || !required.every((r) => typeof r === 'string'))
      throw new UnsupportedSchemaError('required', at, 'required must be a list of names');
    for (const r of required) {
      if (!names.includes(r)) throw new UnsupportedSchemaError('required', at, `required property '${r}' is not declared in properties`);
    }
    const extra = schema.additionalProperties;
    // Only declared properties are generated, which is valid whether or not others are allowed.
    if (extra !== undefined && typeof extra !== 'boolean')
      throw new UnsupportedSchemaError('additionalProperties', at, 'additionalProperties must be true or false');
    const anyKeys = names.length === 0 && extra !== false && schema.properties === undefined;
    const props = names.map((name) => ({
      name,
      node: this.compile((properties as Json)[name], `${at}/properties/${name}`),
      required: required.includes(name),
    }));
    return this.count({ kind: 'object', props, anyKeys }, at);
  }

  private number(schema: Json, integer: boolean, at: string): SchemaNode {
    const num = (key: string): number | undefined => {
      const v = schema[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new UnsupportedSchemaError(key, at, `${key} must be a finite number`);
      return v;
    };
    // Exclusive bounds tighten to the next whole number: the decoder's integer parts stay valid.
    let min = Math.max(
      num('minimum') ?? -Infinity,
      (num('exclusiveMinimum') ?? -Infinity) === -Infinity ? -Infinity : Math.floor(num('exclusiveMinimum')!) + 1,
    );
    let max = Math.min(num('maximum') ?? Infinity, (num('exclusiveMaximum') ?? Infinity) === Infinity ? Infinity : Math.ceil(num('exclusiveMaximum')!) - 1);
    if (integer) {
      min = Math.ceil(min);
      max = Math.floor(max);
    }
    if (Math.ceil(min) > Math.floor(max)) throw new UnsupportedSchemaError('minimum', at, 'the bounds leave no whole number to generate');
    return this.count({ kind: 'number', integer, min, max }, at);
  }

  private literal(schema: Json, at: string): SchemaNode {
    this.allow(schema, [...(TYPE_KEYWORDS[String(schema.type)] ?? [])], at);
    const values = schema.const !== undefined ? [schema.const] : schema.enum;
    const key = schema.const !== undefined ? 'const' : 'enum';
    if (!Array.isArray(values) || values.length === 0) throw new UnsupportedSchemaError(key, at, 'enum must be a non-empty list');
    if (values.length > SCHEMA_LIMITS.enumValues) throw new UnsupportedSchemaError(key, at, `more than ${SCHEMA_LIMITS.enumValues} enum values`);
    const texts = [...new Set(values.map((v) => JSON.stringify(v)))];
    if (texts.some((t) => t.length > SCHEMA_LIMITS.literalBytes))
      throw new UnsupportedSchemaError(key, at, `an enum value longer than ${SCHEMA_LIMITS.literalBytes} characters`);
    return this.count({ kind: 'literal', texts }, at);
  }

  private anyOf(schema: Json, at: string): SchemaNode {
    this.allow(schema, [], at);
    const list = schema.anyOf;
    if (!Array.isArray(list) || list.length === 0) throw new UnsupportedSchemaError('anyOf', at, 'anyOf must be a non-empty list');
    // Sibling keywords would be and-ed with every branch: outside the subset (refused above).
    const options = list.map((s, i) => this.compile(s, `${at}/anyOf/${i}`));
    return options.length === 1 ? options[0]! : this.count({ kind: 'anyOf', options }, at);
  }

  private ref(schema: Json, at: string): SchemaNode {
    const ref = schema.$ref;
    const others = Object.keys(schema).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k));
    if (others.length > 0) throw new UnsupportedSchemaError(others[0]!, at, `'${others[0]}' next to $ref is not supported`);
    if (typeof ref !== 'string' || !/^#\/(\$defs|definitions)\/[^/]+$/.test(ref)) {
      throw new UnsupportedSchemaError('$ref', at, "only local '#/$defs/<name>' references are supported");
    }
    const done = this.refs.get(ref);
    if (done) return done;
    if (this.resolving.has(ref)) throw new UnsupportedSchemaError('$ref', at, `recursive reference ${ref} is not supported`);
    const [, section, name] = ref.split('/') as [string, string, string];
    const defs = this.root[section];
    const target = typeof defs === 'object' && defs !== null && Object.hasOwn(defs, name) ? (defs as Json)[name] : undefined;
    if (target === undefined) throw new UnsupportedSchemaError('$ref', at, `${ref} is not defined`);
    this.resolving.add(ref);
    const node = this.compile(target, ref);
    this.resolving.delete(ref);
    this.refs.set(ref, node);
    return node;
  }
}

function bound(schema: Json, key: string, fallback: number, at: string): number {
  const v = schema[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new UnsupportedSchemaError(key, at, `${key} must be a non-negative integer`);
  if (key.startsWith('min') && v > SCHEMA_LIMITS.forcedLength) throw new UnsupportedSchemaError(key, at, `${key} above ${SCHEMA_LIMITS.forcedLength}`);
  return v;
}
