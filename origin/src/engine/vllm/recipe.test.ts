import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { parseVllmRecipe, serveCommand } from './recipe.ts';

const minimal = { version: '0.10.2', image: 'rocm/vllm:x' };
const target = { modelDir: '/store/snapshots/r1', host: '127.0.0.1', port: 8123, modelId: 'motif-2.6b', maxRunning: 16 };

describe('vllm recipe', () => {
  it('the shipped MI250 recipe parses and turns AITER off', () => {
    const recipe = parseVllmRecipe(JSON.parse(readFileSync(new URL('../../../../infra/engines/vllm/recipe.json', import.meta.url), 'utf8')));
    expect(recipe.version).toBe('0.10.2');
    expect(recipe.env).toMatchObject({ VLLM_ROCM_USE_AITER: '0' });
    expect(recipe.sources.length).toBeGreaterThan(0);
  });

  it.each([
    ['no version', { image: 'i' }, /version/],
    ['unknown field', { ...minimal, flagz: [] }, /flagz|Unrecognized/],
    ['reserved --port', { ...minimal, flags: ['--port', '1'] }, /--port/],
    ['reserved --served-model-name=', { ...minimal, flags: ['--served-model-name=x'] }, /served-model-name/],
    ['reserved --max-num-seqs', { ...minimal, flags: ['--max-num-seqs', '4'] }, /max-num-seqs/],
    ['bad env name', { ...minimal, env: { 'A-B': '1' } }, /env\.A-B/],
    ['zero timeout', { ...minimal, startupTimeoutSeconds: 0 }, /startupTimeoutSeconds/],
  ])('refuses a recipe with %s', (_name, value, message) => {
    expect(() => parseVllmRecipe(value)).toThrow(ApiError);
    expect(() => parseVllmRecipe(value)).toThrow(message);
  });

  it.each([
    {
      name: 'the second GCD: ROCr sees only device 1, HIP then sees it as its device 0; recipe env and flags after the origin’s own',
      recipe: { ...minimal, env: { VLLM_ROCM_USE_AITER: '0' }, flags: ['--dtype', 'bfloat16'] },
      gpu: '1',
      args: [
        'serve',
        '/store/snapshots/r1',
        '--host',
        '127.0.0.1',
        '--port',
        '8123',
        '--served-model-name',
        'motif-2.6b',
        '--max-num-seqs',
        '16',
        '--dtype',
        'bfloat16',
      ],
      env: { VLLM_ROCM_USE_AITER: '0', ROCR_VISIBLE_DEVICES: '1', HIP_VISIBLE_DEVICES: '0' },
    },
    {
      name: 'no GPU given: the device variables are inherited',
      recipe: minimal,
      gpu: undefined,
      args: ['serve', '/store/snapshots/r1', '--host', '127.0.0.1', '--port', '8123', '--served-model-name', 'motif-2.6b', '--max-num-seqs', '16'],
      env: {},
    },
    {
      name: 'the recipe cannot override the GPU',
      recipe: { ...minimal, env: { HIP_VISIBLE_DEVICES: '0,1' } },
      gpu: '0',
      args: ['serve', '/store/snapshots/r1', '--host', '127.0.0.1', '--port', '8123', '--served-model-name', 'motif-2.6b', '--max-num-seqs', '16'],
      env: { HIP_VISIBLE_DEVICES: '0', ROCR_VISIBLE_DEVICES: '0' },
    },
    {
      name: 'two devices: HIP numbers them from 0',
      recipe: minimal,
      gpu: '2,3',
      args: ['serve', '/store/snapshots/r1', '--host', '127.0.0.1', '--port', '8123', '--served-model-name', 'motif-2.6b', '--max-num-seqs', '16'],
      env: { ROCR_VISIBLE_DEVICES: '2,3', HIP_VISIBLE_DEVICES: '0,1' },
    },
  ])('serveCommand: $name', ({ recipe, gpu, args, env }) => {
    expect(serveCommand(parseVllmRecipe(recipe), { ...target, gpu })).toEqual({ args, env });
  });
});
