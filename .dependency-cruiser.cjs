/**
 * The layer rules of motif-edge, checked in `npm test` (test/structure/layers.test.ts runs
 * dependency-cruiser with this file; `npx depcruise --config .dependency-cruiser.cjs edge origin
 * shared scripts tools bench test` prints the same). Each rule says why it exists.
 */
const CORE_ORIGIN = '^origin/src/(?!adapters/|main\\.ts$|cli/)';
const CORE_EDGE = '^edge/src/(?!adapters/|node\\.ts$|worker\\.ts$)';
const TEST = '(\\.test\\.ts$|/test-support\\.ts$|/test-helpers\\.ts$|/testing/)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle makes two modules one, with no top to read from.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-stands-alone',
      severity: 'error',
      comment: 'shared/ is what edge and origin agree on; it depends on neither.',
      from: { path: '^shared/' },
      to: { path: '^(edge|origin|scripts|tools|bench|test)/' },
    },
    {
      name: 'shared-core-runtime-free',
      severity: 'error',
      comment: 'What edge and origin share also runs in Workers; Node-only code lives in shared/src/adapters/node/.',
      from: { path: '^shared/src/(?!adapters/)', pathNot: TEST },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'shared-adapters-from-adapters',
      severity: 'error',
      comment: 'Like their own adapters, the shared Node adapters are chosen by adapters and composition roots only.',
      from: { path: `${CORE_EDGE}|${CORE_ORIGIN}|^shared/src/(?!adapters/)`, pathNot: TEST },
      to: { path: '^shared/src/adapters/' },
    },
    {
      name: 'edge-and-origin-apart',
      severity: 'error',
      comment: 'Edge and origin are separate deployables; what both need lives in shared/.',
      from: { path: '^edge/' },
      to: { path: '^origin/' },
    },
    {
      name: 'origin-and-edge-apart',
      severity: 'error',
      comment: 'Edge and origin are separate deployables; what both need lives in shared/.',
      from: { path: '^origin/' },
      to: { path: '^edge/' },
    },
    {
      name: 'edge-core-not-adapters',
      severity: 'error',
      comment: 'Only the composition roots (node.ts, worker.ts) and tests choose edge adapters.',
      from: { path: CORE_EDGE, pathNot: TEST },
      to: { path: '^edge/src/adapters/' },
    },
    {
      name: 'origin-core-not-adapters',
      severity: 'error',
      comment: 'Only the composition roots (main.ts, cli/) and tests choose origin adapters.',
      from: { path: CORE_ORIGIN, pathNot: TEST },
      to: { path: '^origin/src/adapters/' },
    },
    {
      name: 'adapters-are-leaves',
      severity: 'error',
      comment: 'An adapter implements a port; it does not reach into the server, the rollout or the CLI.',
      from: { path: '^origin/src/adapters/', pathNot: TEST },
      to: { path: '^origin/src/(server|rollout|cli|usage/deliverer|pool)/|^origin/src/(main|config)\\.ts$' },
    },
    {
      name: 'engine-below-the-service',
      severity: 'error',
      comment: 'The engine knows nothing of HTTP, weights distribution, rollouts or usage.',
      from: { path: '^origin/src/engine/', pathNot: TEST },
      to: { path: '^origin/src/(server|weights|rollout|usage|pool|cli)/|^origin/src/(main|config)\\.ts$' },
    },
    {
      name: 'rollout-on-ports',
      severity: 'error',
      comment: 'The rollout is policy: it works through ports, not through the server or adapters.',
      from: { path: '^origin/src/rollout/', pathNot: TEST },
      to: { path: '^origin/src/(server|adapters|cli|usage|pool)/' },
    },
    {
      name: 'runtime-not-tooling',
      severity: 'error',
      comment: 'Runtime code never depends on tooling, benchmarks, scripts or tests.',
      from: { path: '^(edge|origin|shared)/', pathNot: TEST },
      to: { path: '^(tools|scripts|bench|test)/' },
    },
    {
      name: 'no-test-code-in-runtime',
      severity: 'error',
      comment: 'Test doubles and fixtures stay out of what ships.',
      from: { path: '^(edge|origin|shared)/', pathNot: TEST },
      to: { path: TEST },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^origin/native-kernels/build/' },
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.json') },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};
