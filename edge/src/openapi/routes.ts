/**
 * The route table `/openapi.json` is generated from: every route the edge serves under `/v1`,
 * `/admin` and `/healthz`, with the zod schemas that validate it (the single source, STYLE §7).
 * Pure data: adding a route to the app without a row here fails openapi.test.ts.
 */
import { z } from 'zod';
import {
  AdminUsageQuery,
  ApiKey,
  ApiKeyCreated,
  KeyCreate,
  KeyRotate,
  List,
  Tenant,
  TenantCreate,
  TenantPatch,
  UsageExportQuery,
  UsageExportRow,
} from '#shared/admin-api.ts';
import { ChatCompletionChunk, Model, ModelList } from '#shared/openai.ts';
import { Heartbeat } from '#shared/protocol.ts';
import { UsageQuery, UsageRow } from '#shared/usage.ts';
import { CIRCUIT_STATES } from '../routing/circuit-breaker.ts';
import { INFERENCE_ROUTES } from './inference-routes.ts';
import { idParam, json, type RouteDoc } from './route-doc.ts';

export type { Access, Body, RouteDoc } from './route-doc.ts';

/** `/v1/usage`: the caller's own usage, grouped. */
const UsageList = z.object({
  object: z.literal('list'),
  group_by: z.string(),
  from: z.number().int().nullable(),
  to: z.number().int().nullable(),
  data: z.array(UsageRow),
});

const Health = z.object({
  status: z.literal('ok'),
  replicas: z.object({ ready: z.number().int(), known: z.number().int() }),
});

/** `/admin/pool`: each replica's last heartbeat and how the edge sees it now. */
const PoolEntryView = Heartbeat.extend({
  age_ms: z.number().int(),
  in_rotation: z.boolean(),
  inflight: z.number().int(),
  /** This edge's circuit breaker for the replica (per process on Node, per isolate on Workers). */
  circuit: z.enum(CIRCUIT_STATES),
  /** Unix seconds an operator drained the replica out of rotation; null when not drained. */
  drained_at: z.number().int().nullable(),
});

const DeletedTenant = Tenant.extend({ deleted: z.literal(true) });

/** Schemas documented without a route of their own: the events of a stream. */
export const EVENT_SCHEMAS = [json('ChatCompletionChunk', ChatCompletionChunk)];

export const ROUTES: RouteDoc[] = [
  ...INFERENCE_ROUTES,
  {
    method: 'get',
    path: '/v1/models',
    summary: 'Models with at least one replica in rotation.',
    tag: 'Models',
    access: 'inference',
    response: json('ModelList', ModelList),
  },
  {
    method: 'get',
    path: `/v1/models/${idParam}`,
    summary: 'One servable model.',
    tag: 'Models',
    access: 'inference',
    response: json('Model', Model),
    errors: [404],
  },
  {
    method: 'get',
    path: '/v1/usage',
    summary: "The caller's tenant's usage, grouped.",
    tag: 'Usage',
    access: 'usage:read',
    query: UsageQuery,
    response: json('UsageList', UsageList),
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness and how many replicas are in rotation.',
    tag: 'Operations',
    access: 'public',
    response: json('Health', Health),
  },
  {
    method: 'post',
    path: '/admin/tenants',
    summary: 'Create a tenant.',
    tag: 'Tenants',
    access: 'admin',
    body: json('TenantCreate', TenantCreate),
    status: 201,
    response: json('Tenant', Tenant),
    errors: [409, 413, 415],
  },
  { method: 'get', path: '/admin/tenants', summary: 'List tenants.', tag: 'Tenants', access: 'admin', response: json('TenantList', List(Tenant)) },
  {
    method: 'get',
    path: `/admin/tenants/${idParam}`,
    summary: 'Get a tenant.',
    tag: 'Tenants',
    access: 'admin',
    response: json('Tenant', Tenant),
    errors: [404],
  },
  {
    method: 'patch',
    path: `/admin/tenants/${idParam}`,
    summary: 'Change a tenant: name, limits, quota, disabled.',
    tag: 'Tenants',
    access: 'admin',
    body: json('TenantPatch', TenantPatch),
    response: json('Tenant', Tenant),
    errors: [404, 413, 415],
  },
  {
    method: 'delete',
    path: `/admin/tenants/${idParam}`,
    summary: 'Delete a tenant (its keys stop authenticating at once).',
    tag: 'Tenants',
    access: 'admin',
    response: json('DeletedTenant', DeletedTenant),
    errors: [404],
  },
  {
    method: 'post',
    path: `/admin/tenants/${idParam}/keys`,
    summary: 'Create an API key for a tenant; the secret is in this answer only.',
    tag: 'Keys',
    access: 'admin',
    body: json('KeyCreate', KeyCreate),
    status: 201,
    response: json('ApiKeyCreated', ApiKeyCreated),
    errors: [404, 413, 415],
  },
  {
    method: 'get',
    path: `/admin/tenants/${idParam}/keys`,
    summary: "List a tenant's keys (no secrets).",
    tag: 'Keys',
    access: 'admin',
    response: json('ApiKeyList', List(ApiKey)),
    errors: [404],
  },
  { method: 'delete', path: '/admin/keys/{key_id}', summary: 'Revoke a key.', tag: 'Keys', access: 'admin', response: json('ApiKey', ApiKey), errors: [404] },
  {
    method: 'post',
    path: '/admin/keys/{key_id}/rotate',
    summary: 'Replace a key with a new one; the old one keeps working for `overlap_s` seconds.',
    tag: 'Keys',
    access: 'admin',
    body: json('KeyRotate', KeyRotate),
    status: 201,
    response: json('ApiKeyCreated', ApiKeyCreated),
    errors: [404, 413, 415],
  },
  {
    method: 'get',
    path: '/admin/usage',
    summary: "Every tenant's usage (or one's), grouped.",
    tag: 'Admin usage',
    access: 'admin',
    query: AdminUsageQuery,
    response: json('UsageList', UsageList),
  },
  {
    method: 'get',
    path: '/admin/usage/export',
    summary: 'Hourly tenant × model rows with a stable idempotency key, for a metered-billing provider.',
    tag: 'Admin usage',
    access: 'admin',
    query: UsageExportQuery,
    response: json('UsageExportList', List(UsageExportRow)),
    alternative: { mediaType: 'text/csv', description: 'With `format=csv`: the same rows as CSV with a header line.' },
  },
  {
    method: 'get',
    path: '/admin/pool',
    summary: 'The replica pool as this edge sees it.',
    tag: 'Operations',
    access: 'admin',
    response: json('PoolList', List(PoolEntryView)),
  },
  {
    method: 'post',
    path: `/admin/replicas/${idParam}/drain`,
    summary: 'Take a replica out of rotation: running requests finish, new ones go to other replicas. Heartbeats do not undo it.',
    tag: 'Operations',
    access: 'admin',
    response: json('PoolEntry', PoolEntryView),
    errors: [404],
  },
  {
    method: 'post',
    path: `/admin/replicas/${idParam}/undrain`,
    summary: 'Put a drained replica back in rotation (once its heartbeats say it is ready).',
    tag: 'Operations',
    access: 'admin',
    response: json('PoolEntry', PoolEntryView),
    errors: [404],
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document (OpenAPI 3.1).',
    tag: 'Operations',
    access: 'public',
    response: json('OpenApiDocument', z.record(z.string(), z.unknown())),
  },
  {
    method: 'get',
    path: '/admin/metrics',
    summary: 'Prometheus metrics.',
    tag: 'Operations',
    access: 'admin',
    response: { mediaType: 'text/plain', description: 'Prometheus text exposition format 0.0.4.' },
  },
];
