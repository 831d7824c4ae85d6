/**
 * JSON text the fuzzer can write but `JSON.stringify` cannot: number literals outside what a
 * double holds (`1e400`, `-0`, 30-digit integers) and nesting deep enough that building it as an
 * object would overflow the stack of whoever stringifies it.
 */

/** A literal written into the JSON text as is (`1e400`). */
export class RawJson {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** `depth` levels of `[` (or `{"a":`) around `null`, written as text. */
export class DeepJson {
  constructor(
    readonly depth: number,
    readonly kind: 'array' | 'object',
  ) {}
  toString(): string {
    return `deep(${this.kind}, ${this.depth})`;
  }
}

export type FuzzJson = null | boolean | number | string | RawJson | DeepJson | FuzzJson[] | { [key: string]: FuzzJson };

/** Serialise; non-finite numbers become `null` as in JSON.stringify. */
export function toJsonText(v: FuzzJson): string {
  if (v instanceof RawJson) return v.text;
  if (v instanceof DeepJson) {
    return v.kind === 'array' ? `${'['.repeat(v.depth)}null${']'.repeat(v.depth)}` : `${'{"a":'.repeat(v.depth)}null${'}'.repeat(v.depth)}`;
  }
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`)
    .join(',')}}`;
}
