import { describe, expect, it } from 'vitest';
import { chooseSwapStrategy, OVERLAP_HEADROOM, type StrategyInput } from './strategy.ts';

const GiB = 1024 ** 3;

describe('chooseSwapStrategy', () => {
  it.each<[string, StrategyInput, string]>([
    ['configured overlap wins over memory', { option: 'overlap', backend: 'native', weightBytes: 10 * GiB, availableBytes: 1 * GiB }, 'overlap'],
    ['configured drain-first wins over memory', { option: 'drain-first', backend: 'native', weightBytes: 1, availableBytes: 64 * GiB }, 'drain-first'],
    ['auto, small model, plenty of memory', { option: 'auto', backend: 'native', weightBytes: 5 * GiB, availableBytes: 64 * GiB }, 'overlap'],
    ['auto, exactly the headroom', { option: 'auto', backend: 'native', weightBytes: 5 * GiB, availableBytes: 5 * GiB * OVERLAP_HEADROOM }, 'overlap'],
    [
      'auto, one byte short of the headroom',
      { option: 'auto', backend: 'native', weightBytes: 5 * GiB, availableBytes: 5 * GiB * OVERLAP_HEADROOM - 1 },
      'drain-first',
    ],
    ['auto, unknown memory', { option: 'auto', backend: 'native', weightBytes: 1, availableBytes: Number.NaN }, 'drain-first'],
    ['auto, vllm always drains first', { option: 'auto', backend: 'vllm', weightBytes: 1, availableBytes: 64 * GiB }, 'drain-first'],
    ['auto, the simulator overlaps', { option: 'auto', backend: 'sim', weightBytes: 10 * GiB, availableBytes: 0 }, 'overlap'],
  ])('%s', (_name, input, expected) => {
    const choice = chooseSwapStrategy(input);
    expect(choice.strategy).toBe(expected);
    expect(choice.reason.length).toBeGreaterThan(0);
  });
});
