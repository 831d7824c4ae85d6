/**
 * Grammar nodes: a compiled schema (`SchemaNode`, shared/json-schema-subset.ts) with what the byte
 * walk needs precomputed: a numeric id per node (state keys), object keys and literal values as
 * bytes, the required properties as a bit set. `any` (json_object) becomes one shared node.
 */
import type { SchemaNode } from '#shared/json-schema-subset.ts';

/** A compiled node: the schema node plus what the byte walk needs precomputed. */
export type GrammarNode =
  | {
      id: number;
      kind: 'object';
      props: { key: Uint8Array; node: GrammarNode }[];
      requiredMask: number;
      /** Any key may appear (`json_object`), with a value of `values`. */
      anyKeys: boolean;
      values: GrammarNode | undefined;
    }
  | { id: number; kind: 'array'; items: GrammarNode; minItems: number; maxItems: number }
  | { id: number; kind: 'string'; minLength: number; maxLength: number }
  | { id: number; kind: 'number'; integer: boolean; min: number; max: number }
  | { id: number; kind: 'literal'; texts: Uint8Array[] }
  | { id: number; kind: 'anyOf'; options: GrammarNode[] };

const enc = new TextEncoder();

/** Convert a compiled schema to grammar nodes (ids for state keys, key and literal bytes). */
export function grammarNodes(root: SchemaNode): GrammarNode {
  let next = 0;
  const seen = new Map<SchemaNode, GrammarNode>();
  const any = (): GrammarNode => {
    const node: GrammarNode = { id: next++, kind: 'anyOf', options: [] };
    const object: GrammarNode = { id: next++, kind: 'object', props: [], requiredMask: 0, anyKeys: true, values: node };
    const array: GrammarNode = { id: next++, kind: 'array', items: node, minItems: 0, maxItems: Infinity };
    const string: GrammarNode = { id: next++, kind: 'string', minLength: 0, maxLength: Infinity };
    const number: GrammarNode = { id: next++, kind: 'number', integer: false, min: -Infinity, max: Infinity };
    const literal: GrammarNode = { id: next++, kind: 'literal', texts: ['true', 'false', 'null'].map((t) => enc.encode(t)) };
    node.options.push(object, array, string, number, literal);
    return node;
  };
  let anyNode: GrammarNode | undefined;
  const convert = (n: SchemaNode): GrammarNode => {
    if (n.kind === 'any') return (anyNode ??= any());
    const done = seen.get(n);
    if (done) return done;
    let out: GrammarNode;
    switch (n.kind) {
      case 'object': {
        let requiredMask = 0;
        n.props.forEach((p, i) => {
          if (p.required) requiredMask |= 1 << i;
        });
        // The opening quote is matched on its own; the key's bytes run through the closing one.
        const props = n.props.map((p) => ({ key: enc.encode(JSON.stringify(p.name).slice(1)), node: convert(p.node) }));
        const values = n.anyKeys ? (anyNode ??= any()) : undefined;
        out = { id: next++, kind: 'object', props, requiredMask: requiredMask >>> 0, anyKeys: n.anyKeys, values };
        break;
      }
      case 'array':
        out = { id: next++, kind: 'array', items: convert(n.items), minItems: n.minItems, maxItems: n.maxItems };
        break;
      case 'literal':
        out = { id: next++, kind: 'literal', texts: n.texts.map((t) => enc.encode(t)) };
        break;
      case 'anyOf':
        out = { id: next++, kind: 'anyOf', options: n.options.map(convert) };
        break;
      default:
        out = { id: next++, ...n };
    }
    seen.set(n, out);
    return out;
  };
  return convert(root);
}
