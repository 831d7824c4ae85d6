/**
 * The tiny Motif fixture checkpoint (`test/fixtures/tiny-motif`), loaded as the engine loads a
 * model directory: for tests that need real weights and config without a running engine.
 */
import { fileURLToPath } from 'node:url';
import type { MotifConfig } from '../../../engine/native/checkpoint/config.ts';
import { loadMotifConfig, loadMotifWeights, type MotifWeights } from '../../../engine/native/checkpoint/weights.ts';
import { nodeCheckpoint } from './checkpoint-dir.ts';

export const TINY_MOTIF_DIR = fileURLToPath(new URL('../../../../../test/fixtures/tiny-motif/', import.meta.url));

/** The fixture's config and weights. */
export async function loadTinyMotif(): Promise<{ config: MotifConfig; weights: MotifWeights }> {
  const src = nodeCheckpoint(TINY_MOTIF_DIR);
  const config = await loadMotifConfig(src);
  return { config, weights: await loadMotifWeights(src, config) };
}
