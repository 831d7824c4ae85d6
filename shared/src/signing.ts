/**
 * HMAC request signing between edge and origin (DESIGN §4), over the Digests port: WebCrypto by
 * default (workerd and Node alike), node:crypto where a Node composition root passes it.
 *
 *   x-motif-signature: t=<unix ms>,kid=<key id>,v2=<hex HMAC-SHA256>
 *   signed string:     v2 \n method \n path \n request-id \n tenant-id \n key-id \n deadline \n
 *                      client-usage \n t \n hex(sha256(body))
 *
 * Every protocol header the receiver acts on is signed (HEADERS in protocol.ts): an unsigned
 * `x-key-id` could move usage to another key, an unsigned `x-deadline` could stretch a request.
 * Keys live in a keyring (kid → secret) so a secret can be rotated: the signer uses one kid,
 * verifiers accept every kid in their ring. Each direction has its own keys (DESIGN §4): the
 * edge signs forwarded requests, each node signs its heartbeats and usage with its own key.
 */
import { constantTimeEqual, type Digests, toHex, webDigests } from './digests.ts';
import { ApiError } from './errors.ts';
import { HEADERS } from './protocol.ts';

export const SIGNATURE_HEADER = 'x-motif-signature';
export const MAX_SKEW_MS = 5 * 60_000;

export interface SigningKey {
  kid: string;
  secret: string;
}

export interface SignInput {
  method: string;
  path: string;
  requestId: string;
  tenantId: string;
  /** `x-key-id`: the API key a forwarded request is billed to ('' when absent). */
  keyId?: string;
  /** `x-deadline`: the request's deadline in unix ms ('' when absent). */
  deadline?: string;
  /** `x-motif-client-usage` ('' when absent). */
  clientUsage?: string;
  body: Uint8Array | string;
}

/**
 * The signed fields of a request from its headers (`get` answers a header by lowercase name; a
 * missing header is ''). Senders and receivers both build the input this way, so a header that is
 * sent is a header that is signed.
 */
export function signInputFrom(method: string, path: string, get: (name: string) => string | null | undefined, body: Uint8Array | string): SignInput {
  const h = (name: string) => get(name) ?? '';
  return {
    method,
    path,
    requestId: h(HEADERS.requestId),
    tenantId: h(HEADERS.tenantId),
    keyId: h(HEADERS.keyId),
    deadline: h(HEADERS.deadline),
    clientUsage: h(HEADERS.clientWantsUsage),
    body,
  };
}

/** The signed fields of a received request. */
export function signInputOf(req: Request, body: Uint8Array): SignInput {
  return signInputFrom(req.method, new URL(req.url).pathname, (name) => req.headers.get(name), body);
}

/** Sign a request whose headers are final: every protocol header in `headers` is covered. */
export function signHeaders(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array | string,
  key: SigningKey,
  now?: number,
  digests?: Digests,
): Promise<string> {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return sign(
    signInputFrom(method, path, (name) => lower.get(name), body),
    key,
    now,
    digests,
  );
}

export { toHex };

/** Hex sha256 (WebCrypto): for callers off the request path. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return webDigests.sha256Hex(data);
}

async function canonical(input: SignInput, t: number, digests: Digests): Promise<string> {
  const bodyHash = await digests.sha256Hex(input.body);
  const fields = [
    'v2',
    input.method.toUpperCase(),
    input.path,
    input.requestId,
    input.tenantId,
    input.keyId ?? '',
    input.deadline ?? '',
    input.clientUsage ?? '',
    String(t),
    bodyHash,
  ];
  return fields.join('\n');
}

/** The signature header value for a request. */
export async function sign(input: SignInput, key: SigningKey, now: number = Date.now(), digests: Digests = webDigests): Promise<string> {
  const mac = await digests.hmacSha256Hex(key.secret, await canonical(input, now, digests));
  return `t=${now},kid=${key.kid},v2=${mac}`;
}

function parseHeader(header: string): { t: number; kid: string; mac: string } | null {
  const parts = new Map(
    header.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const kid = parts.get('kid');
  const mac = parts.get('v2');
  if (!Number.isFinite(t) || !kid || !mac || !/^[0-9a-f]{64}$/.test(mac)) return null;
  return { t, kid, mac };
}

/**
 * Verify a signature header; throws `invalid_signature` (401) when missing, malformed, signed by
 * an unknown kid, outside the allowed clock skew, or not matching. Returns the signing time.
 */
export async function verify(
  header: string | null | undefined,
  input: SignInput,
  keyring: ReadonlyMap<string, string>,
  now: number = Date.now(),
  digests: Digests = webDigests,
): Promise<{ t: number; kid: string }> {
  if (!header) throw new ApiError('invalid_signature', 'Missing request signature.');
  const parsed = parseHeader(header);
  if (!parsed) {
    const old = /(^|,)\s*v1=/.test(header);
    throw new ApiError('invalid_signature', old ? 'Signature scheme v1 is no longer accepted: upgrade the sender to sign v2.' : 'Malformed request signature.');
  }
  const secret = keyring.get(parsed.kid);
  if (!secret) throw new ApiError('invalid_signature', 'Unknown signing key.');
  if (Math.abs(now - parsed.t) > MAX_SKEW_MS) throw new ApiError('invalid_signature', 'Request signature expired (clock skew too large).');
  const expected = await digests.hmacSha256Hex(secret, await canonical(input, parsed.t, digests));
  const ok = constantTimeEqual(expected, parsed.mac);
  if (!ok) throw new ApiError('invalid_signature', 'Invalid request signature.');
  return { t: parsed.t, kid: parsed.kid };
}

/**
 * Parse a keyring from config: `kid1:secret1,kid2:secret2` or a bare secret (kid `k1`).
 * The first entry is the one used to sign.
 */
export function parseKeyring(spec: string): { signing: SigningKey; ring: Map<string, string> } {
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const i = s.indexOf(':');
      return i > 0 ? { kid: s.slice(0, i), secret: s.slice(i + 1) } : { kid: 'k1', secret: s };
    });
  const first = entries[0];
  if (!first || entries.some((e) => e.secret.length < 16)) {
    throw new Error('signing secret must be "kid:secret[,kid:secret…]" with secrets of at least 16 characters');
  }
  return { signing: first, ring: new Map(entries.map((e) => [e.kid, e.secret])) };
}

/**
 * The replay-window port: `check` records a request id and answers false when it was already seen
 * inside the window. `ReplayGuard` below is the in-memory implementation; a runtime may supply a
 * durable one (the origin keeps its window in SQLite so a restart does not reopen it; the Worker
 * keeps it in a Durable Object, shared by its isolates, so it answers asynchronously). Callers
 * await the answer.
 */
export interface ReplayWindow {
  check(id: string, now?: number): boolean | Promise<boolean>;
}

/**
 * Remembers request ids seen within the skew window so a captured signed request cannot be
 * replayed. Bounded: entries older than the window are dropped as time passes.
 */
export class ReplayGuard implements ReplayWindow {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly windowMs: number = 2 * MAX_SKEW_MS,
    private readonly maxEntries = 1_000_000,
  ) {}

  /** Returns false when `id` was already seen inside the window. */
  check(id: string, now: number = Date.now()): boolean {
    this.prune(now);
    if (this.seen.has(id)) return false;
    if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(id, now);
    return true;
  }

  private prune(now: number): void {
    // Map iterates in insertion order, i.e. oldest first.
    for (const [id, at] of this.seen) {
      if (now - at <= this.windowMs) break;
      this.seen.delete(id);
    }
  }
}
