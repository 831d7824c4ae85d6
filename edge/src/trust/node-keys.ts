/**
 * Node keys: what each origin node signs its heartbeats and usage with (the origin → edge
 * direction; the edge signs forwarded requests with a keyring of its own, so holding one
 * direction's key grants nothing in the other). Each key is bound to one node id and speaks only
 * for that node's replicas: a replica id equal to the node id or `<node>-<suffix>` (an origin's
 * default replica id is `<node>-<port>`). A leaked node key therefore cannot announce, or bill
 * as, another node's replica.
 *
 *   MOTIF_NODE_KEYS = kid:secret@node[,kid:secret@node…]
 *
 * Several keys may name one node, which is how a node's key rotates without downtime: add the
 * new key here, switch the node to it, then drop the old one.
 */
import { ApiError } from '#shared/errors.ts';

export interface NodeKeys {
  /** kid → secret, for signature verification. */
  ring: ReadonlyMap<string, string>;
  /** kid → the node the key is bound to. */
  nodeOf: ReadonlyMap<string, string>;
}

const KID = /^[A-Za-z0-9._-]{1,128}$/;
/** As the origin's MOTIF_NODE_ID allows. */
const NODE = /^[A-Za-z0-9._:-]{1,128}$/;
const MIN_SECRET = 16;

/** Parse `kid:secret@node,…`; throws an Error naming the bad entry. */
export function parseNodeKeys(spec: string): NodeKeys {
  const ring = new Map<string, string>();
  const nodeOf = new Map<string, string>();
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('no node keys: expected "kid:secret@node[,kid:secret@node…]"');
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    const at = entry.lastIndexOf('@');
    const kid = entry.slice(0, colon);
    const secret = entry.slice(colon + 1, at);
    const node = entry.slice(at + 1);
    const shown = colon > 0 ? `${kid}:…` : entry.slice(0, 8);
    if (colon <= 0 || at < colon || !KID.test(kid) || !NODE.test(node))
      throw new Error(`"${shown}" must be kid:secret@node (kid: letters, digits, . _ -; node: also :)`);
    if (secret.length < MIN_SECRET) throw new Error(`key ${kid}: the secret must be at least ${MIN_SECRET} characters`);
    if (ring.has(kid)) throw new Error(`key id ${kid} appears twice`);
    ring.set(kid, secret);
    nodeOf.set(kid, node);
  }
  const nodes = [...new Set(nodeOf.values())];
  for (const a of nodes)
    for (const b of nodes)
      if (a !== b && replicaOfNode(a, b)) throw new Error(`node ids ${a} and ${b} overlap: ${a}'s key could speak for ${b}'s replicas (${b}-…); rename one`);
  return { ring, nodeOf };
}

/** Whether `replicaId` names a replica of node `nodeId` (the node itself, or `<node>-<suffix>`). */
export function replicaOfNode(nodeId: string, replicaId: string): boolean {
  return replicaId === nodeId || (replicaId.startsWith(`${nodeId}-`) && replicaId.length > nodeId.length + 1);
}

/**
 * Refuse (403) unless the key `kid` may speak for `replicaId` (and, for heartbeats, claims its own
 * `nodeId`). Called after the signature has been verified with that key.
 */
export function assertMaySpeakFor(keys: NodeKeys, kid: string, replicaId: string, nodeId?: string): void {
  const bound = keys.nodeOf.get(kid);
  if (bound === undefined) throw new ApiError('invalid_signature', 'Unknown signing key.');
  if (nodeId !== undefined && nodeId !== bound)
    throw new ApiError('permission_denied', `Key ${kid} belongs to node ${bound} and may not speak for node ${nodeId}.`, { param: 'node_id' });
  if (!replicaOfNode(bound, replicaId))
    throw new ApiError('permission_denied', `Key ${kid} belongs to node ${bound} and may not speak for replica ${replicaId}.`, { param: 'replica_id' });
}
