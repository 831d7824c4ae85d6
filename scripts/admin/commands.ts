/**
 * The admin CLI's commands: each turns positionals and options into one admin API request
 * (shared/src/admin-api.ts bodies). Values are passed on as typed as they can be ("null" clears a
 * limit, numbers become numbers); the API validates and names a bad field.
 */

export interface Invocation {
  positionals: string[];
  options: Record<string, string | boolean | undefined>;
}

export interface ApiCall {
  method: string;
  path: string;
  body?: unknown;
}

export interface Command {
  usage: string;
  summary: string;
  /** Positionals required after the command words. */
  args: string[];
  build(args: string[], options: Invocation['options']): ApiCall;
}

const seg = encodeURIComponent;

/** "null" → null, a number → number, anything else as given (the API names it if wrong). */
function value(v: string | boolean | undefined): unknown {
  if (v === undefined || typeof v === 'boolean') return v;
  if (v === 'null') return null;
  return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
}

/** An object of the defined entries only (absent options are not sent). */
function defined(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const out = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return Object.keys(out).length > 0 ? out : undefined;
}

function query(o: Record<string, string | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

const tenantLimits = (o: Invocation['options']) => defined({ rpm: value(o.rpm), tpm: value(o.tpm), max_concurrent: value(o['max-concurrent']) });
const tenantQuota = (o: Invocation['options']) => defined({ monthly_tokens: value(o['monthly-tokens']) });

export const COMMANDS: Record<string, Command> = {
  'tenants create': {
    usage: 'tenants create <id> [--name N] [--rpm N] [--tpm N] [--max-concurrent N] [--monthly-tokens N]',
    summary: 'Create a tenant with its limits and monthly token quota.',
    args: ['id'],
    build: ([id], o) => ({
      method: 'POST',
      path: '/admin/tenants',
      body: defined({ id, name: o.name, limits: tenantLimits(o), quota: tenantQuota(o) }),
    }),
  },
  'tenants list': { usage: 'tenants list', summary: 'List every tenant.', args: [], build: () => ({ method: 'GET', path: '/admin/tenants' }) },
  'tenants get': {
    usage: 'tenants get <id>',
    summary: 'Show one tenant.',
    args: ['id'],
    build: ([id]) => ({ method: 'GET', path: `/admin/tenants/${seg(id!)}` }),
  },
  'tenants update': {
    usage: 'tenants update <id> [--name N] [--rpm N|null] [--tpm N|null] [--max-concurrent N|null] [--monthly-tokens N|null] [--disable|--enable]',
    summary: 'Change a tenant (null = back to the edge default).',
    args: ['id'],
    build: ([id], o) => ({
      method: 'PATCH',
      path: `/admin/tenants/${seg(id!)}`,
      body:
        defined({
          name: value(o.name),
          limits: tenantLimits(o),
          quota: tenantQuota(o),
          disabled: o.disable ? true : o.enable ? false : undefined,
        }) ?? {},
    }),
  },
  'tenants delete': {
    usage: 'tenants delete <id>',
    summary: 'Disable a tenant and revoke its keys (usage history stays).',
    args: ['id'],
    build: ([id]) => ({ method: 'DELETE', path: `/admin/tenants/${seg(id!)}` }),
  },
  'keys create': {
    usage: 'keys create <tenant> [--name N] [--scopes inference,usage:read,admin] [--expires-at UNIX_S] [--rpm N] [--tpm N] [--mode live|test]',
    summary: 'Create an API key; the secret is printed once.',
    args: ['tenant'],
    build: ([tenant], o) => ({
      method: 'POST',
      path: `/admin/tenants/${seg(tenant!)}/keys`,
      body:
        defined({
          name: o.name,
          scopes: typeof o.scopes === 'string' ? o.scopes.split(',').map((s) => s.trim()) : undefined,
          expires_at: value(o['expires-at']),
          limits: defined({ rpm: value(o.rpm), tpm: value(o.tpm) }),
          mode: o.mode,
        }) ?? {},
    }),
  },
  'keys list': {
    usage: 'keys list <tenant>',
    summary: "List a tenant's keys (never their secrets).",
    args: ['tenant'],
    build: ([tenant]) => ({ method: 'GET', path: `/admin/tenants/${seg(tenant!)}/keys` }),
  },
  'keys revoke': {
    usage: 'keys revoke <key_id>',
    summary: 'Revoke a key now.',
    args: ['key_id'],
    build: ([id]) => ({ method: 'DELETE', path: `/admin/keys/${seg(id!)}` }),
  },
  'keys rotate': {
    usage: 'keys rotate <key_id> [--overlap SECONDS]',
    summary: 'Replace a key; the old one keeps working for the overlap (default 0).',
    args: ['key_id'],
    build: ([id], o) => ({ method: 'POST', path: `/admin/keys/${seg(id!)}/rotate`, body: defined({ overlap_s: value(o.overlap) }) ?? {} }),
  },
  usage: {
    usage: 'usage [--tenant T] [--from TIME] [--to TIME] [--group-by day|hour|key|model|tenant]',
    summary: "Every tenant's usage (or one's), grouped.",
    args: [],
    build: (_, o) => ({ method: 'GET', path: `/admin/usage${query({ tenant: o.tenant, from: o.from, to: o.to, group_by: o['group-by'] })}` }),
  },
  'usage export': {
    usage: 'usage export [--tenant T] [--from TIME] [--to TIME] [--format json|csv]',
    summary: 'Hourly rows for a metered-billing provider.',
    args: [],
    build: (_, o) => ({ method: 'GET', path: `/admin/usage/export${query({ tenant: o.tenant, from: o.from, to: o.to, format: o.format })}` }),
  },
  'replicas list': {
    usage: 'replicas list',
    summary: 'The replica pool as the edge sees it (load, in rotation, drained).',
    args: [],
    build: () => ({ method: 'GET', path: '/admin/pool' }),
  },
  'replicas drain': {
    usage: 'replicas drain <replica_id>',
    summary: 'Take a replica out of rotation; its running requests finish.',
    args: ['replica_id'],
    build: ([id]) => ({ method: 'POST', path: `/admin/replicas/${seg(id!)}/drain` }),
  },
  'replicas undrain': {
    usage: 'replicas undrain <replica_id>',
    summary: 'Put a drained replica back in rotation.',
    args: ['replica_id'],
    build: ([id]) => ({ method: 'POST', path: `/admin/replicas/${seg(id!)}/undrain` }),
  },
};

/** Every option any command takes (node:util parseArgs wants them declared). */
export const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  'max-concurrent': { type: 'string' },
  'monthly-tokens': { type: 'string' },
  disable: { type: 'boolean' },
  enable: { type: 'boolean' },
  scopes: { type: 'string' },
  'expires-at': { type: 'string' },
  mode: { type: 'string' },
  overlap: { type: 'string' },
  tenant: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  'group-by': { type: 'string' },
  format: { type: 'string' },
} as const;
