/**
 * The one map of engine backends (DESIGN §7, STYLE 9): a backend is a factory from its (unparsed)
 * options to an Engine. The composition root picks one by the configured `EngineBackend`; options
 * are validated by the backend's own schema at construction, so a bad config fails at startup.
 * Backends not in this build fail the same way, loudly, instead of falling back to another.
 */
import { ApiError } from '#shared/errors.ts';
import { NativeEngine, type NativeEngineDeps, type NativeEngineOptions } from './native/native-engine.ts';
import { SimEngine } from './sim/sim-engine.ts';
import { type Engine, EngineBackend } from './types.ts';

/**
 * How a backend reaches its runtime: the composition root passes the loaders of its runtime
 * (adapters/node/engine/engine-loaders.ts on Node); the engine core imports none itself.
 */
export type EngineLoaders = NativeEngineDeps;

/** Builds an engine from backend-specific options (validated inside; throws ApiError when invalid). */
export type EngineFactory = (options: unknown, loaders?: EngineLoaders) => Engine;

function notInThisBuild(backend: EngineBackend): EngineFactory {
  return () => {
    throw new ApiError('engine_unavailable', `Engine backend '${backend}' is not implemented in this build (available: ${availableBackends().join(', ')}).`);
  };
}

export const engineRegistry: Record<EngineBackend, EngineFactory> = {
  native: (options, loaders) => new NativeEngine(options as NativeEngineOptions, loaders),
  vllm: notInThisBuild('vllm'),
  sim: (options) => new SimEngine(options),
};

const IMPLEMENTED: ReadonlySet<EngineBackend> = new Set(['native', 'sim']);

/** Backends this build can actually construct. */
export function availableBackends(): EngineBackend[] {
  return EngineBackend.options.filter((b) => IMPLEMENTED.has(b));
}

/**
 * Construct the engine for `backend` (a config string, checked against EngineBackend) with its
 * options. Throws ApiError naming the problem: unknown backend, backend not in this build, or
 * invalid options.
 */
export function createEngine(backend: string, options: unknown, loaders?: EngineLoaders): Engine {
  const parsed = EngineBackend.safeParse(backend);
  if (!parsed.success) {
    throw new ApiError('engine_unavailable', `Unknown engine backend '${backend}' (expected one of: ${EngineBackend.options.join(', ')}).`);
  }
  return engineRegistry[parsed.data](options, loaders);
}
