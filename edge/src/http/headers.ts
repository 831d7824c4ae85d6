/**
 * Which origin response headers may reach the client. Hop-by-hop headers describe one
 * connection and must not be forwarded (RFC 9110 §7.6.1); length and encoding no longer hold
 * once the edge re-frames or decodes the body; `x-motif-*` are internal protocol headers.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
  'expect',
  'host',
]);
const REFRAMED = new Set(['content-length', 'content-encoding']);

/** Copy end-to-end headers worth passing to the client. */
export function endToEndHeaders(from: Iterable<[string, string]> & { get(name: string): string | null }): Headers {
  const out = new Headers();
  // Headers named in `Connection` are hop-by-hop too.
  const named = new Set(
    (from.get('connection') ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const [k, v] of from) {
    const name = k.toLowerCase();
    if (HOP_BY_HOP.has(name) || REFRAMED.has(name) || named.has(name) || name.startsWith('x-motif-') || name === 'set-cookie') continue;
    out.append(name, v);
  }
  return out;
}
