import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testEdge } from '../testing/harness.ts';
import { type JsonObject, openApiDocument } from './document.ts';
import { ROUTES, type RouteDoc } from './routes.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every `$ref` in a JSON value, with where it was found. */
function refs(value: unknown, at = '#', out: [string, string][] = []): [string, string][] {
  if (Array.isArray(value)) value.forEach((v, i) => refs(v, `${at}/${i}`, out));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v]);
      else refs(v, `${at}/${k}`, out);
    }
  return out;
}

/** Resolve a local JSON pointer (`#/a/b`), or undefined. */
function resolve(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !(key in node)) return undefined;
    node = (node as JsonObject)[key];
  }
  return node;
}

/** Hono's `/models/:id{.+}` → OpenAPI's `/models/{id}`. */
const openApiPath = (honoPath: string) => honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');

describe('the OpenAPI document', () => {
  const doc = openApiDocument({ serverUrl: 'https://edge.example.com' }) as {
    openapi: string;
    info: { title: string; version: string };
    servers: { url: string }[];
    paths: Record<
      string,
      Record<string, { operationId: string; responses: Record<string, unknown>; parameters: { name: string; in: string }[]; security: JsonObject[] }>
    >;
    components: { schemas: Record<string, JsonObject>; securitySchemes: Record<string, unknown> };
  };
  const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

  it('is OpenAPI 3.1 with info, servers and an operation per documented route', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'motif-edge', version: expect.any(String) });
    expect(doc.servers).toEqual([{ url: 'https://edge.example.com' }]);
    expect(operations).toHaveLength(ROUTES.length);
    for (const { method } of operations) expect(METHODS).toContain(method);
  });

  it('every operation has a unique id, a success response, its path parameters and known security schemes', () => {
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(
        Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)),
        where,
      ).toBe(true);
      const declared = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
      expect(declared, where).toEqual([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]));
      for (const requirement of op.security)
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes, where).toHaveProperty(scheme);
    }
  });

  it('every $ref resolves', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(ROUTES.length);
    for (const [at, ref] of all) expect(resolve(doc, ref), `${ref} at ${at}`).toBeDefined();
  });

  it('every error response shares the one ErrorResponse component', () => {
    for (const { op } of operations)
      for (const [status, res] of Object.entries(op.responses))
        if (Number(status) >= 400)
          expect((res as { content: JsonObject }).content['application/json']).toEqual({ schema: { $ref: '#/components/schemas/ErrorResponse' } });
    expect(doc.components.schemas.ErrorResponse).toMatchObject({ properties: { error: { required: ['message', 'type', 'param', 'code'] } } });
  });

  it('the generating routes document the response cache: cache-control in, x-cache out; other routes do not', () => {
    const generating = ['/v1/chat/completions', '/v1/completions', '/v1/responses'];
    for (const { path, method, op } of operations) {
      const cached = method === 'post' && generating.includes(path);
      const success = op.responses['200'] as { headers?: Record<string, { schema: { enum?: string[] } }> } | undefined;
      expect(success?.headers?.['x-cache']?.schema.enum, `${method} ${path}`).toEqual(cached ? ['HIT', 'MISS', 'BYPASS'] : undefined);
      expect(
        op.parameters.some((p) => p.in === 'header' && p.name === 'cache-control'),
        `${method} ${path}`,
      ).toBe(cached);
    }
  });

  it('is generated from the zod schemas: bounds and refusals show', () => {
    const chat = doc.components.schemas.ChatCompletionRequest as { properties: Record<string, JsonObject> };
    expect(chat.properties.messages).toMatchObject({ minItems: 1, maxItems: 2048 });
    expect(chat.properties.functions).toMatchObject({ description: expect.stringContaining('Not supported') });
    expect(chat.properties.tools).toMatchObject({ anyOf: [expect.objectContaining({ type: 'array', maxItems: 128 }), { type: 'null' }] });
    // Input side: a field with a default is optional for the client.
    const usage = doc.paths['/admin/usage']!.get!.parameters.find((p) => p.name === 'group_by');
    expect(usage).toMatchObject({ in: 'query', required: false });
    for (const schema of Object.values(doc.components.schemas)) expect(schema).not.toHaveProperty('$schema');
  });

  it.each(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('%s converts on its own', (_name, route) => {
    expect(() => openApiDocument({ routes: [route] })).not.toThrow();
  });

  it('a schema JSON Schema cannot express becomes {} instead of failing the document', () => {
    const odd = z.object({ when: z.date(), big: z.bigint(), parsed: z.string().transform(Number), custom: z.custom<string>((v) => typeof v === 'string') });
    const route: RouteDoc = {
      method: 'post',
      path: '/x',
      summary: 'x',
      tag: 'Operations',
      access: 'public',
      body: { name: 'Odd', schema: odd },
      response: { name: 'OddOut', schema: odd },
    };
    const d = openApiDocument({ routes: [route] }) as { components: { schemas: Record<string, { properties: JsonObject }> } };
    expect(d.components.schemas.Odd!.properties).toHaveProperty('when');
    expect(d.components.schemas.OddOut!.properties).toHaveProperty('parsed');
  });

  it('refuses one component name for two schemas', () => {
    const a: RouteDoc = { method: 'get', path: '/a', summary: 'a', tag: 'Operations', access: 'public', response: { name: 'Same', schema: z.string() } };
    const b: RouteDoc = { ...a, path: '/b', response: { name: 'Same', schema: z.number() } };
    expect(() => openApiDocument({ routes: [a, b] })).toThrow(/Same/);
  });
});

describe('the document covers what the app serves', () => {
  it('every route the app serves under /v1, /admin and the root is documented', async () => {
    const t = await testEdge({ deps: { options: { adminToken: 'admin-token-0123456789' } } });
    const served = t.app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*') && !r.path.startsWith('/internal/'))
      .map((r) => `${r.method} ${openApiPath(r.path)}`);
    const documented = new Set(ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    expect(served.length).toBeGreaterThan(5);
    expect(served.filter((s) => !documented.has(s))).toEqual([]);
  });

  it('every documented route is served, public and admin', async () => {
    const t = await testEdge();
    const served = new Set(t.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${openApiPath(r.path)}`));
    const documented = ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(documented.filter((r) => !served.has(r))).toEqual([]);
  });

  it('GET /openapi.json needs no key and names the server it was reached at', async () => {
    const t = await testEdge();
    const res = await t.app.request('http://edge.test:4680/openapi.json');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { openapi: string; servers: { url: string }[]; paths: JsonObject };
    expect(body.openapi).toBe('3.1.0');
    expect(body.servers).toEqual([{ url: 'http://edge.test:4680' }]);
    expect(body.paths).toHaveProperty('/v1/chat/completions');
  });
});
