/**
 * The shape of one row of the route table `/openapi.json` is generated from (routes.ts).
 */
import type { z } from 'zod';

export type Method = 'get' | 'post' | 'patch' | 'delete';
/** Who may call a route: an API key or JWT with a scope, or the admin token (or an `admin`-scope key or JWT). */
export type Access = 'public' | 'inference' | 'usage:read' | 'admin';

/** One documented body: a named zod schema (a JSON component) or text of a media type. */
export type Body = { name: string; schema: z.ZodType } | { mediaType: string; description: string };

export interface RouteDoc {
  method: Method;
  /** OpenAPI path template (`{id}`), as served. */
  path: string;
  summary: string;
  tag: 'Inference' | 'Models' | 'Usage' | 'Tenants' | 'Keys' | 'Admin usage' | 'Operations';
  access: Access;
  /** JSON request body (validated with `io: 'input'`). */
  body?: { name: string; schema: z.ZodType };
  /** Query string, one parameter per property (input side: coercions show the accepted type). */
  query?: z.ZodObject;
  /** Status of the success answer (default 200). */
  status?: 200 | 201;
  /** The success answer; a second entry adds another media type (SSE, CSV). */
  response: Body;
  alternative?: Body;
  /** Error statuses beyond the ones every route of its access level can answer. */
  errors?: number[];
  /** The response cache's headers (completions): `cache-control: no-store` in, `x-cache` out. */
  cached?: true;
}

/** A named JSON body. */
export const json = (name: string, schema: z.ZodType) => ({ name, schema });
/** The path parameter of routes that address one thing. */
export const idParam = '{id}';
