/**
 * The surfaces the fuzzer attacks, each as an arbitrary of request specs and a builder that turns
 * a spec into bytes (signing where the surface is signed): the edge's public API, its admin API,
 * its internal endpoints origins call, and the origin's signed API reached directly.
 */
import fc from 'fast-check';
import { HEADERS, INTERNAL_PATHS } from '#shared/protocol.ts';
import { parseKeyring, SIGNATURE_HEADER, type SignInput, type SigningKey, sign, signInputFrom } from '#shared/signing.ts';
import {
  authHeader,
  type BodySpec,
  bodyBytes,
  chatBody,
  completionBody,
  contentType,
  extraHeaders,
  heartbeatBody,
  oddMethod,
  oddPath,
  usageBatchBody,
  usageQuery,
} from './arbitraries.ts';
import type { RawRequest } from './raw-http.ts';

export interface Target {
  model: string;
  apiKey: string;
  adminToken: string;
  /** The edge's forwarding key (`kid:secret`): what the origin's signed API verifies. */
  originSecret: string;
  /** The origin node's key (`kid:secret`): what the edge's internal endpoints verify. */
  nodeKey: string;
  /** The node that key is bound to (its replicas are `<node>` and `<node>-…`). */
  nodeId: string;
}

export interface Spec {
  method: string;
  path: string;
  auth: string | null;
  contentType: string | null;
  headers: [string, string][];
  body?: BodySpec;
  /** Send the body chunked instead of with a content-length. */
  chunked: boolean;
  signing?: SigningMode;
  /** Whose key signs: the edge's (requests to the origin) or the node's (heartbeats, usage). */
  signer?: 'edge' | 'node';
  requestId?: string;
}

type SigningMode = 'none' | 'garbage' | 'wrong-secret' | 'valid' | 'other-body' | 'other-path' | 'expired' | 'future';

const chunked = fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
const method = (usual: string) => fc.oneof({ weight: 8, arbitrary: fc.constant(usual) }, { weight: 2, arbitrary: oddMethod });

/** The public API: completions, models, usage and paths around them. */
export function publicSpecs(t: Target): fc.Arbitrary<Spec> {
  const common = { auth: authHeader(t.apiKey), contentType, headers: extraHeaders, chunked };
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ ...common, method: method('POST'), path: fc.constant('/v1/chat/completions'), body: chatBody(t.model) }) },
    { weight: 4, arbitrary: fc.record({ ...common, method: method('POST'), path: fc.constant('/v1/completions'), body: completionBody(t.model) }) },
    { weight: 1, arbitrary: fc.record({ ...common, method: method('GET'), path: fc.constantFrom('/v1/models', `/v1/models/${t.model}`) }) },
    { weight: 2, arbitrary: fc.record({ ...common, method: method('GET'), path: usageQuery.map((q) => `/v1/usage?${q}`) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        ...common,
        method: oddMethod,
        path: oddPath(['/v1/chat/completions', '/v1/completions', '/v1/models', '/v1/usage', '/healthz']),
        body: fc.option(chatBody(t.model), { nil: undefined }),
      }),
    },
  );
}

/** The admin API: the right token or not, on the admin paths and around them. */
export function adminSpecs(t: Target): fc.Arbitrary<Spec> {
  return fc.record({
    method: method('GET'),
    path: oddPath(['/admin/pool', '/admin/metrics', '/admin', '/admin/keys', '/admin/tenants']),
    auth: fc.oneof(authHeader(t.adminToken), fc.constant(`Bearer ${t.apiKey}`)),
    contentType,
    headers: extraHeaders,
    chunked,
    body: fc.option(chatBody(t.model), { nil: undefined }),
  });
}

const signingMode: fc.Arbitrary<SigningMode> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('valid' as const) },
  { weight: 4, arbitrary: fc.constantFrom('none' as const, 'garbage' as const, 'wrong-secret' as const, 'other-body' as const, 'other-path' as const) },
  { weight: 1, arbitrary: fc.constantFrom('expired' as const, 'future' as const) },
);

const requestIdHeader = fc.oneof(
  { weight: 8, arbitrary: fc.uuid().map((u) => `fuzz-${u}`) },
  { weight: 1, arbitrary: fc.constantFrom('', 'fuzz-replayed-id', 'x'.repeat(129), 'x'.repeat(4000), 'a b', '\u00ff') },
);

/** The edge's internal endpoints (heartbeat, usage), signed well or badly with the node's key. */
export function internalSpecs(t: Target, tag: string): fc.Arbitrary<Spec> {
  const common = {
    auth: fc.constant(null),
    contentType,
    headers: extraHeaders,
    chunked,
    signing: signingMode,
    signer: fc.constant('node' as const),
    requestId: requestIdHeader,
  };
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ ...common, method: method('POST'), path: fc.constant(INTERNAL_PATHS.heartbeat), body: heartbeatBody(t.nodeId, tag) }) },
    { weight: 3, arbitrary: fc.record({ ...common, method: method('POST'), path: fc.constant(INTERNAL_PATHS.usage), body: usageBatchBody(t.nodeId) }) },
    {
      weight: 1,
      arbitrary: fc.record({ ...common, method: oddMethod, path: oddPath([INTERNAL_PATHS.heartbeat, INTERNAL_PATHS.usage, '/internal']) }),
    },
  );
}

/** The origin's signed API, as if the caller held the edge's key (or not). */
export function originSpecs(t: Target): fc.Arbitrary<Spec> {
  const common = {
    auth: fc.constant(null),
    contentType,
    headers: extraHeaders,
    chunked,
    signing: signingMode,
    signer: fc.constant('edge' as const),
    requestId: requestIdHeader,
  };
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ ...common, method: method('POST'), path: fc.constant('/v1/chat/completions'), body: chatBody(t.model) }) },
    { weight: 4, arbitrary: fc.record({ ...common, method: method('POST'), path: fc.constant('/v1/completions'), body: completionBody(t.model) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        ...common,
        method: oddMethod,
        path: oddPath(['/v1/models', '/admin/drain', '/healthz', '/readyz', '/metrics', '/v1/chat/completions']),
      }),
    },
  );
}

/**
 * Bytes for a spec. `/admin/drain` is never signed validly: it would take the replica out of
 * rotation, which is an operator's action, not bad input.
 */
export async function buildRequest(spec: Spec, t: Target): Promise<RawRequest> {
  const body = spec.body ? bodyBytes(spec.body) : new Uint8Array(0);
  const headers: [string, string][] = [];
  if (spec.auth !== null) headers.push(['authorization', spec.auth]);
  if (spec.contentType !== null) headers.push(['content-type', spec.contentType]);
  if (spec.signing) {
    const protocol: Record<string, string> = { [HEADERS.requestId]: spec.requestId ?? '', [HEADERS.tenantId]: 'fuzz-tenant', [HEADERS.keyId]: 'fuzz-key' };
    headers.push(...Object.entries(protocol));
    const mode = spec.path.startsWith('/admin/drain') && spec.signing === 'valid' ? 'other-path' : spec.signing;
    const key = parseKeyring(spec.signer === 'node' ? t.nodeKey : t.originSecret).signing;
    const input = signInputFrom(spec.method, spec.path.split('?')[0]!, (name) => protocol[name], body);
    const signature = await signatureFor(mode, input, key);
    if (signature !== null) headers.push([SIGNATURE_HEADER, signature]);
  }
  headers.push(...spec.headers);
  return { method: spec.method, path: spec.path, headers, body, chunkSize: spec.chunked ? 1 + (body.length >> 2) : undefined };
}

async function signatureFor(mode: SigningMode, input: SignInput, key: SigningKey): Promise<string | null> {
  switch (mode) {
    case 'none':
      return null;
    case 'garbage':
      return 't=abc,kid=,v1=zz';
    case 'wrong-secret':
      return sign(input, { kid: key.kid, secret: 'not-the-secret-of-this-stack' });
    case 'valid':
      return sign(input, key);
    case 'other-body':
      return sign({ ...input, body: `${typeof input.body === 'string' ? input.body : new TextDecoder().decode(input.body)} ` }, key);
    case 'other-path':
      return sign({ ...input, path: '/v1/models' }, key);
    case 'expired':
      return sign(input, key, Date.now() - 3_600_000);
    case 'future':
      return sign(input, key, Date.now() + 3_600_000);
  }
}

/** A spec in a line, long values cut, for failure messages (the seed reproduces the whole run). */
export function describeSpec(spec: Spec): string {
  const text = JSON.stringify(spec, (_k, v: unknown) => {
    if (typeof v === 'string' && v.length > 200) return `${v.slice(0, 200)}…(${v.length} chars)`;
    if (v !== null && typeof v === 'object' && 'depth' in v && 'kind' in v) return String(v);
    if (v !== null && typeof v === 'object' && 'text' in v && Object.keys(v).length === 1) return `raw:${(v as { text: string }).text}`;
    return v;
  });
  return text.length > 1500 ? `${text.slice(0, 1500)}…` : text;
}
