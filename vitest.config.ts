import { defineConfig } from 'vitest/config';
import FiguresReporter from './test/reliability/figures-reporter.ts';

// Test layers (see README "Tests"): unit tests sit next to the code they test and run in-process;
// workers tests run inside workerd; integration tests start real processes on loopback.
export default defineConfig({
  test: {
    // The pinned AWS SDK notes that its future releases need Node 22; it is pinned, so keep logs quiet.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // The reliability figures first, vitest's summary (failures included) last.
    reporters: [new FiguresReporter(), 'default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{edge,origin,shared,scripts,tools,bench}/**/*.test.ts', 'test/structure/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Real processes and ports: run files one at a time on the 2-core machines.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // The deployable artefacts under infra/ against their schemas and tools (wrangler
          // dry-run, compose spec, Kubernetes schemas, Dockerfile parser); offline, no cluster.
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // Faults, fuzzing, overload and soak against real processes (README "Reliability").
          // `npm test` runs its fast subset; `npm run test:reliability` the full run with figures.
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/reliability/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      // Glob, so the suite still runs while the workers project is absent.
      'test/workers/vitest.config.{ts,mts}',
    ],
  },
});
