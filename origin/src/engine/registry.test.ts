import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { NativeEngine } from './native/native-engine.ts';
import { createEngine, engineRegistry } from './registry.ts';
import { SimEngine } from './sim/sim-engine.ts';
import { VllmEngine } from './vllm/vllm-engine.ts';

describe('engine registry', () => {
  it('builds the native engine from validated options', () => {
    const e = createEngine('native', { modelDir: '/models/x', modelId: 'motif-2.6b' });
    expect(e).toBeInstanceOf(NativeEngine);
    expect(e.info()).toMatchObject({ backend: 'native', model: 'motif-2.6b', revision: 'local' });
  });

  it('builds the simulated engine, which needs no weights', () => {
    const e = createEngine('sim', { modelId: 'motif-2.6b', revision: 'r1', speed: 10 });
    expect(e).toBeInstanceOf(SimEngine);
    expect(e.info()).toMatchObject({ backend: 'sim', model: 'motif-2.6b', revision: 'r1', maxContextTokens: 4096 });
  });

  it('builds the vllm engine, whose child starts only on load', () => {
    const e = createEngine('vllm', { modelDir: '/snapshots/r1', modelId: 'motif-2.6b', revision: 'r1', recipe: { version: '0.10.2', image: 'img' } });
    expect(e).toBeInstanceOf(VllmEngine);
    expect(e.info()).toMatchObject({ backend: 'vllm', model: 'motif-2.6b', revision: 'r1', maxContextTokens: 0 });
    expect(e.healthy?.()).toBe(false);
  });

  it.each([
    ['invalid native options', 'native', { modelDir: '', modelId: 'm' }, /modelDir/],
    ['unknown option key', 'native', { modelDir: 'd', modelId: 'm', maxRuning: 3 }, /maxRuning|Unrecognized/],
    ['vllm without a recipe', 'vllm', { modelDir: 'd', modelId: 'm' }, /recipe/],
    ['vllm recipe setting a reserved flag', 'vllm', { modelDir: 'd', modelId: 'm', recipe: { version: 'v', image: 'i', flags: ['--port=1'] } }, /--port/],
    ['invalid sim options', 'sim', { speed: 0 }, /speed/],
    ['unknown sim option', 'sim', { sped: 10 }, /sped|Unrecognized/],
    ['unknown backend', 'tgi', {}, /Unknown engine backend 'tgi'/],
  ])('%s fails at construction', (_name, backend, opts, message) => {
    expect(() => createEngine(backend, opts)).toThrow(ApiError);
    expect(() => createEngine(backend, opts)).toThrow(message);
  });

  it('has one entry per backend', () => {
    expect(Object.keys(engineRegistry).sort()).toEqual(['native', 'sim', 'vllm']);
  });
});
