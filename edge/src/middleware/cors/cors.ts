/**
 * CORS for browser clients (MOTIF_CORS_ORIGINS): `*` or a list of exact origins. Unset means no
 * CORS headers at all, so browsers keep refusing cross-origin reads. Preflight `OPTIONS` is
 * answered here, before any auth, because browsers never send credentials on a preflight.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { SESSION_HEADER } from '../../routing/types.ts';

/** `*`, or the exact origins allowed. */
export type CorsOrigins = '*' | string[];

/** What the official openai SDK sends besides authorization and content-type. */
const SDK_HEADERS = [
  'openai-organization',
  'openai-project',
  'openai-beta',
  'x-stainless-arch',
  'x-stainless-custom-poll-interval',
  'x-stainless-helper-method',
  'x-stainless-lang',
  'x-stainless-os',
  'x-stainless-package-version',
  'x-stainless-poll-helper',
  'x-stainless-retry-count',
  'x-stainless-runtime',
  'x-stainless-runtime-version',
  'x-stainless-timeout',
];

export const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'x-request-id', SESSION_HEADER, ...SDK_HEADERS];

/** Response headers a browser script may read: the request id, rate limits and retry hints. */
export const CORS_EXPOSE_HEADERS = [
  'x-request-id',
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
  'retry-after',
];

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/i;

/**
 * Parse a MOTIF_CORS_ORIGINS value: `*` or a comma list of origins (`scheme://host[:port]`, no
 * path). Throws naming the first bad entry, so a typo fails at start rather than silently
 * blocking a browser app.
 */
export function parseCorsOrigins(value: string): CorsOrigins {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 1 && entries[0] === '*') return '*';
  if (entries.length === 0) throw new Error('expected `*` or a comma list of origins such as https://app.example.com');
  for (const e of entries) {
    if (e === '*') throw new Error('`*` cannot be combined with other origins');
    if (!ORIGIN.test(e)) throw new Error(`'${e}' is not an origin (scheme://host[:port], no path or trailing slash)`);
  }
  return entries.map((e) => e.toLowerCase());
}

/** Middleware factory: the CORS headers for `origins`, or undefined when CORS is off. */
export function corsFor(origins: CorsOrigins | undefined): MiddlewareHandler | undefined {
  if (origins === undefined) return undefined;
  if (origins !== '*' && origins.length === 0) throw new Error('corsFor: an empty origin list; pass undefined to turn CORS off');
  return cors({
    origin: origins === '*' ? '*' : (origin) => (origins.includes(origin.toLowerCase()) ? origin : null),
    allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: 600,
  });
}
