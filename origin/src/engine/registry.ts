/**
 * The one map of engine backends (DESIGN §7, STYLE 9): a backend is a factory from its (unparsed)
 * options to an Engine. The composition root picks one by the configured `EngineBackend`; options
 * are validated by the backend's own schema at construction, so a bad config fails at startup.
 */
import { ApiError } from '#shared/errors.ts';
import { NativeEngine, type NativeEngineDeps, type NativeEngineOptions } from './native/native-engine.ts';
import { SimEngine } from './sim/sim-engine.ts';
import { type Engine, EngineBackend } from './types.ts';
import { VllmEngine, type VllmEngineDeps, type VllmEngineOptions } from './vllm/vllm-engine.ts';

/**
 * How a backend reaches its runtime: the composition root passes the loaders of its runtime
 * (adapters/node/engine/: model files and kernels for `native`, the child-process launcher for
 * `vllm`); the engine core imports none itself.
 */
export type EngineLoaders = NativeEngineDeps & VllmEngineDeps;

/** Builds an engine from backend-specific options (validated inside; throws ApiError when invalid). */
export type EngineFactory = (options: unknown, loaders?: EngineLoaders) => Engine;

export const engineRegistry: Record<EngineBackend, EngineFactory> = {
  native: (options, loaders) => new NativeEngine(options as NativeEngineOptions, loaders),
  vllm: (options, loaders) => new VllmEngine(options as VllmEngineOptions, loaders),
  sim: (options) => new SimEngine(options),
};

/**
 * Construct the engine for `backend` (a config string, checked against EngineBackend) with its
 * options. Throws ApiError naming the problem: unknown backend or invalid options.
 */
export function createEngine(backend: string, options: unknown, loaders?: EngineLoaders): Engine {
  const parsed = EngineBackend.safeParse(backend);
  if (!parsed.success) {
    throw new ApiError('engine_unavailable', `Unknown engine backend '${backend}' (expected one of: ${EngineBackend.options.join(', ')}).`);
  }
  return engineRegistry[parsed.data](options, loaders);
}
