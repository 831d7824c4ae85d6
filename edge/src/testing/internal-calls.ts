/**
 * What an origin sends the edge, for tests that drive a built edge (the Worker in workerd, a
 * `wrangler dev` process): a ready replica's heartbeat and a signed internal request.
 */
import { HEADERS, type Heartbeat } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, type SigningKey, sign } from '#shared/signing.ts';

/** A ready, idle replica's heartbeat, stamped now; `o` overrides any field. */
export function readyHeartbeat(replica: string, nodeId: string, url: string, model: string, o: Partial<Heartbeat> = {}): Heartbeat {
  return {
    replica_id: replica,
    node_id: nodeId,
    url,
    model,
    revision: 'r',
    state: 'ready',
    waiting: 0,
    running: 0,
    max_running: 4,
    kv_usage: 0,
    tokens_per_s: 0,
    ts: Date.now(),
    ...o,
  };
}

/** `POST url` with `body` as JSON, signed with `key` as an origin signs its internal calls. */
export async function signedInternalRequest(url: string, body: unknown, key: SigningKey, tenantId = 'origin'): Promise<Request> {
  const text = JSON.stringify(body);
  const requestId = crypto.randomUUID();
  const path = new URL(url).pathname;
  const sig = await sign({ method: 'POST', path, requestId, tenantId, body: text }, key);
  return new Request(url, {
    method: 'POST',
    body: text,
    headers: { 'content-type': 'application/json', [HEADERS.requestId]: requestId, [HEADERS.tenantId]: tenantId, [SIGNATURE_HEADER]: sig },
  });
}
