import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { parseMotifConfig } from './config.ts';

const fixture = JSON.parse(readFileSync(new URL('../../../../../test/fixtures/tiny-motif/config.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected an error');
}

describe('parseMotifConfig', () => {
  it('reads the fixture config and derives head_dim', () => {
    const c = parseMotifConfig(fixture, { eos_token_id: [383, 381] });
    expect(c).toMatchObject({
      hidden_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      head_dim: 16,
      vocab_size: 384,
      rope_theta: 10000,
      rms_norm_eps: 1e-6,
      attn_rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
    });
    expect(c.eos_token_ids).toEqual([383, 381]);
  });

  it('applies defaults for absent keys', () => {
    const { rope_theta: _t, rms_norm_eps: _e, attn_rms_norm_eps: _a, hidden_act: _h, tie_word_embeddings: _w, num_key_value_heads: _k, ...rest } = fixture;
    const c = parseMotifConfig(rest);
    expect(c).toMatchObject({
      rope_theta: 10000,
      rms_norm_eps: 1e-6,
      attn_rms_norm_eps: 1e-5,
      hidden_act: 'poly_norm',
      tie_word_embeddings: true,
      num_key_value_heads: 4,
    });
  });

  it('keeps an explicit head_dim and theta', () => {
    const c = parseMotifConfig({ ...fixture, head_dim: 32, rope_theta: 500000 });
    expect(c.head_dim).toBe(32);
    expect(c.rope_theta).toBe(500000);
  });

  it.each([
    ['int + int', 7, 383, [7, 383]],
    ['list + int (deduplicated)', [383, 381], 383, [383, 381]],
    ['absent generation config', undefined, 383, [383]],
    ['null everywhere', null, null, []],
  ] as const)('merges eos ids: %s', (_name, gen, cfg, want) => {
    const c = parseMotifConfig({ ...fixture, eos_token_id: cfg }, gen === undefined ? undefined : { eos_token_id: gen });
    expect(c.eos_token_ids).toEqual(want);
  });

  it.each([
    ['GQA', { num_key_value_heads: 2 }, 'num_key_value_heads', /n_rep = 2/],
    ['another activation', { hidden_act: 'silu' }, 'hidden_act', /poly_norm/],
    ['rope scaling', { rope_scaling: { type: 'linear', factor: 2 } }, 'rope_scaling', /not supported/],
    ['an odd head count', { num_attention_heads: 3, num_key_value_heads: 3 }, 'num_attention_heads', /even/],
    ['a hidden size that does not split', { hidden_size: 66 }, 'head_dim', /not divisible/],
    ['a missing vocab size', { vocab_size: undefined }, 'vocab_size', /vocab_size/],
    ['a negative eps', { rms_norm_eps: -1 }, 'rms_norm_eps', /rms_norm_eps/],
    ['an eos id outside the vocabulary', { eos_token_id: 999 }, 'eos_token_id', /outside the vocabulary/],
  ])('rejects %s with a clear error', (_name, patch, param, message) => {
    const err = errorOf(() => parseMotifConfig({ ...fixture, ...patch }));
    expect(err.param).toBe(param);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/config\.json/);
  });

  it('rejects a malformed generation config', () => {
    const err = errorOf(() => parseMotifConfig(fixture, { eos_token_id: 'x' }));
    expect(err.message).toMatch(/generation_config\.json/);
  });
});
