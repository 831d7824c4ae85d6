/**
 * Types for the `cloudflare:workers` runtime module. The repo typechecks with the DOM lib (Node
 * and shared code), so the Workers types cannot be loaded as globals without clashing; instead
 * the importable variant of @cloudflare/workers-types provides them as a module, and this
 * declaration points the runtime module name at it. Worker-only files import their types from
 * '@cloudflare/workers-types' explicitly.
 */
declare module 'cloudflare:workers' {
  import type { CloudflareWorkersModule } from '@cloudflare/workers-types';
  export = CloudflareWorkersModule;
}
