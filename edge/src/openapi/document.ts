/**
 * `/openapi.json`: an OpenAPI 3.1 document generated from the route table (routes.ts) and the zod
 * schemas it names, with zod's own JSON Schema output (draft 2020-12, the dialect of OpenAPI
 * 3.1). Request bodies and query strings are converted on the input side (what a client may
 * send: defaults optional, coercions as the accepted type), answers on the output side. A schema
 * zod cannot express in JSON Schema (a transform, a custom refinement) becomes `{}` rather than
 * failing the whole document; the test converts every route to prove none throws.
 */
import { z } from 'zod';
import { ErrorBody } from '#shared/errors.ts';
import { type Access, type Body, EVENT_SCHEMAS, ROUTES, type RouteDoc } from './routes.ts';

export type JsonObject = { [key: string]: unknown };

const COMPONENT = '#/components/schemas/';
const ERROR_REF = { $ref: `${COMPONENT}ErrorResponse` };

const SECURITY: Record<Access, JsonObject[]> = {
  public: [],
  inference: [{ apiKey: [] }, { jwt: [] }],
  'usage:read': [{ apiKey: [] }, { jwt: [] }],
  admin: [{ adminToken: [] }, { apiKey: [] }, { jwt: [] }],
};

const SECURITY_SCHEMES = {
  apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (`Authorization: Bearer <key>`), with the scope the route needs.' },
  jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT from a configured issuer; the tenant and scopes come from its claims.' },
  adminToken: { type: 'http', scheme: 'bearer', description: 'The operator token (MOTIF_ADMIN_TOKEN); an API key or JWT with the `admin` scope also works.' },
};

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  400: 'Invalid request (the error names the parameter).',
  401: 'Missing or invalid credentials.',
  403: 'The credentials lack the scope this route needs.',
  404: 'Not found.',
  408: 'The client was too slow sending the request.',
  409: 'Conflict (already exists).',
  413: 'Request body too large.',
  415: 'The body is not JSON (`content-type` must be application/json).',
  429: 'Rate limit or quota exceeded (see `retry-after` and the `x-ratelimit-*` headers).',
  502: 'The origin answered with an error.',
  503: 'No replica available.',
  504: 'The request took longer than the deadline.',
};

const RETRY_AFTER = { schema: { type: 'integer' }, description: 'Seconds to wait before retrying.' };
const REQUEST_ID = { $ref: '#/components/headers/RequestId' };

/** JSON Schema conversion options: never throw on what JSON Schema cannot express. */
const convertOptions = (io: 'input' | 'output') => ({ io, unrepresentable: 'any' as const, uri: (id: string) => `${COMPONENT}${id}` });

/** Named schemas → components, one conversion per side; a name bound to two schemas is a bug. */
function components(routes: RouteDoc[]): Record<string, JsonObject> {
  const input = z.registry<{ id: string }>();
  const output = z.registry<{ id: string }>();
  const seen = new Map<string, z.ZodType>();
  const add = (registry: typeof input, body: Body | undefined) => {
    if (!body || !('schema' in body)) return;
    const prev = seen.get(body.name);
    if (prev && prev !== body.schema) throw new Error(`openapi: the component name ${body.name} is used for two schemas`);
    if (!prev) registry.add(body.schema, { id: body.name });
    seen.set(body.name, body.schema);
  };
  add(output, { name: 'ErrorResponse', schema: ErrorBody });
  for (const s of EVENT_SCHEMAS) add(output, s);
  for (const r of routes) {
    add(input, r.body);
    add(output, r.response);
    add(output, r.alternative);
  }
  const out: Record<string, JsonObject> = {};
  for (const [registry, io] of [
    [input, 'input'],
    [output, 'output'],
  ] as const) {
    const { schemas } = z.toJSONSchema(registry, convertOptions(io)) as { schemas: Record<string, JsonObject> };
    for (const [name, schema] of Object.entries(schemas)) out[name] = stripMeta(schema);
  }
  return out;
}

/** A standalone conversion (query strings), inlined into parameters. */
function inline(schema: z.ZodType): JsonObject {
  return stripMeta(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonObject);
}

function stripMeta(schema: JsonObject): JsonObject {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

function content(body: Body): JsonObject {
  if ('schema' in body) return { 'application/json': { schema: { $ref: `${COMPONENT}${body.name}` } } };
  return { [body.mediaType]: { schema: { type: 'string', description: body.description } } };
}

function parameters(r: RouteDoc): JsonObject[] {
  const params: JsonObject[] = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  if (r.query) {
    const q = inline(r.query) as { properties?: Record<string, JsonObject>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      const { description, ...rest } = schema;
      params.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema: rest, ...(description ? { description } : {}) });
    }
  }
  if (r.cached) params.push(NO_STORE_PARAM);
  return params;
}

/** The response cache's headers (edge/README.md, "Response cache"). */
const X_CACHE = {
  description:
    'The response cache: `HIT` (a stored answer, or an identical request in flight), `MISS` (generated; stored when it completes) or `BYPASS` (not cacheable: sampled, `no-store`, or the cache is off).',
  schema: { type: 'string', enum: ['HIT', 'MISS', 'BYPASS'] },
};
const NO_STORE_PARAM = {
  name: 'cache-control',
  in: 'header',
  required: false,
  description: '`no-store`: neither answer from nor store into the response cache (a deterministic request is generated again).',
  schema: { type: 'string' },
};

function responses(r: RouteDoc): JsonObject {
  const success = {
    description: STATUS_TEXT[r.status ?? 200],
    headers: { 'x-request-id': REQUEST_ID, ...(r.cached ? { 'x-cache': X_CACHE } : {}) },
    content: { ...content(r.response), ...(r.alternative ? content(r.alternative) : {}) },
  };
  const errors = new Set<number>(r.errors ?? []);
  if (r.body || r.query || r.path.includes('{')) errors.add(400);
  if (r.access !== 'public') [401, 403].forEach((s) => errors.add(s));
  const out: JsonObject = { [String(r.status ?? 200)]: success };
  for (const status of [...errors].sort((a, b) => a - b)) {
    const headers: JsonObject = { 'x-request-id': REQUEST_ID };
    if (status === 429 || status === 503) headers['retry-after'] = RETRY_AFTER;
    out[String(status)] = { description: STATUS_TEXT[status] ?? 'Error.', headers, content: { 'application/json': { schema: ERROR_REF } } };
  }
  return out;
}

function operation(r: RouteDoc): JsonObject {
  return {
    operationId: `${r.method}${r.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: r.summary,
    tags: [r.tag],
    security: SECURITY[r.access],
    parameters: parameters(r),
    ...(r.body ? { requestBody: { required: true, content: content(r.body) } } : {}),
    responses: responses(r),
  };
}

/**
 * The document for `routes` (default: the edge's table). `serverUrl` is where this edge was
 * reached, so tools pointed at `/openapi.json` call the same host.
 */
export function openApiDocument(opts: { serverUrl?: string; version?: string; routes?: RouteDoc[] } = {}): JsonObject {
  const routes = opts.routes ?? ROUTES;
  const paths: Record<string, JsonObject> = {};
  for (const r of routes) {
    const item = (paths[r.path] ??= {});
    if (item[r.method]) throw new Error(`openapi: ${r.method.toUpperCase()} ${r.path} is listed twice`);
    item[r.method] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'motif-edge',
      version: opts.version ?? '0.1.0',
      description: 'OpenAI-compatible inference API and the operator admin API. Errors are OpenAI-shaped: `{error: {message, type, param, code}}`.',
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: components(routes),
      securitySchemes: SECURITY_SCHEMES,
      headers: { RequestId: { schema: { type: 'string' }, description: 'The request id (yours if you sent a sane `x-request-id`, else generated).' } },
    },
  };
}
