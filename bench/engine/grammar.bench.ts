/**
 * `npm run bench:grammar [-- --vocab=219520 --step-ms=150 --runs=3]`
 *
 * The cost of structured output per generated token. (1) On the tiny-motif fixture in the real
 * engine: decode ms per token without a format and with a json_schema. (2) The token mask over a
 * synthetic vocabulary the size of Motif 2.6B's: a schema-valid document replayed token by token
 * through the constraint, with a cold mask cache (a new grammar: every state walked) and a warm
 * one (a repeated format), set against a full-size decode step (`--step-ms`, default from the
 * batch-1 figure `bench:engine` reports in the README: 6–7.6 tokens/s).
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { nodeEngineLoaders } from '../../origin/src/adapters/node/engine/engine-loaders.ts';
import { GrammarCache, type GrammarFormat } from '../../origin/src/engine/native/grammar/json-constraint.ts';
import { VocabIndex } from '../../origin/src/engine/native/grammar/token-mask.ts';
import { NativeEngine } from '../../origin/src/engine/native/native-engine.ts';
import { DEFAULT_SAMPLING, type GenerateRequest, type StructuredFormat } from '../../origin/src/engine/types.ts';
import { autoCallSchema } from '../../shared/src/openai-tools.ts';
import { formatTable } from './engine-bench.ts';
import { syntheticVocabulary, timeReplay, tokenizeGreedy } from './grammar-bench.ts';

const Args = z.object({
  vocab: z.coerce.number().int().min(512).max(1_000_000).default(219_520),
  'step-ms': z.coerce.number().positive().default(150),
  runs: z.coerce.number().int().min(1).max(20).default(3),
});
const args = Args.parse(
  parseArgs({ options: { vocab: { type: 'string' }, 'step-ms': { type: 'string' }, runs: { type: 'string' } }, allowPositionals: false }).values,
);
const now = () => performance.now();
const FIXTURE = fileURLToPath(new URL('../../test/fixtures/tiny-motif/', import.meta.url));

const strict = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });
const SCHEMA = strict({
  name: { type: 'string', maxLength: 40 },
  bio: { type: 'string', maxLength: 400 },
  age: { type: 'integer', minimum: 0, maximum: 150 },
  role: { enum: ['admin', 'member', 'guest'] },
  tags: { type: 'array', items: { type: 'string', maxLength: 20 }, maxItems: 8 },
  address: strict({ city: { type: 'string' }, zip: { type: ['string', 'null'], maxLength: 10 } }),
});
const FORMAT: StructuredFormat = { type: 'json_schema', schema: SCHEMA };
const DOCUMENT = JSON.stringify({
  name: '김민지 Kim Minji',
  bio: 'Engineer who writes about inference servers, 한국어 자연어 처리, and the quiet joy of well-formed JSON documents; likes hiking.',
  age: 34,
  role: 'member',
  tags: ['llm', '검색', 'rust', 'typescript'],
  address: { city: 'Seoul 서울', zip: null },
});

// `tool_choice: auto` with a strict function: free text around one `<tool_call>` block holding
// the same document as arguments (every free-text byte walks the whole vocabulary once per state).
const TAGGED: GrammarFormat = {
  type: 'tagged_calls',
  schema: autoCallSchema({
    tools: [{ type: 'function', function: { name: 'save_profile', parameters: SCHEMA, strict: true } }],
    choice: 'auto',
    parallel: true,
  })!,
  parallel: true,
};
const TAGGED_TEXT = `Saving the profile now.\n<tool_call>\n${JSON.stringify({ name: 'save_profile', arguments: JSON.parse(DOCUMENT) })}\n</tool_call>\nDone, anything else?`;

async function tinyEngine(): Promise<[string, string][]> {
  const engine = new NativeEngine({ modelDir: FIXTURE, modelId: 'tiny-motif', maxRunning: 4 }, nodeEngineLoaders());
  await engine.load();
  const base = (seed: number): GenerateRequest => ({
    requestId: `b${seed}`,
    prompt: { kind: 'chat', messages: [{ role: 'user', content: 'JSON' }] },
    maxTokens: 80,
    sampling: { ...DEFAULT_SAMPLING, seed },
    stop: [],
  });
  const perToken = async (req: GenerateRequest) => {
    let tokens = 0;
    const t0 = now();
    for await (const e of engine.generate(req, new AbortController().signal)) if (e.type === 'finish') tokens = e.usage.completionTokens;
    return { ms: now() - t0, tokens };
  };
  const tiny = strict({ name: { type: 'string', maxLength: 8 }, n: { type: 'integer', minimum: 0, maximum: 99 } });
  let free = { ms: 0, tokens: 0 };
  let constrained = { ms: 0, tokens: 0 };
  for (let r = 0; r < args.runs; r++) {
    const a = await perToken({ ...base(r), ignoreEos: true });
    const b = await perToken({ ...base(r), responseFormat: { type: 'json_schema', schema: tiny } });
    free = { ms: free.ms + a.ms, tokens: free.tokens + a.tokens };
    constrained = { ms: constrained.ms + b.ms, tokens: constrained.tokens + b.tokens };
  }
  await engine.close();
  return [
    ['tiny-motif decode, free text', `${(free.ms / free.tokens).toFixed(3)} ms/token (${free.tokens} tokens)`],
    ['tiny-motif decode, json_schema', `${(constrained.ms / constrained.tokens).toFixed(3)} ms/token (${constrained.tokens} tokens)`],
  ];
}

function fullSizeMask(): [string, string][] {
  const vocab = syntheticVocabulary(args.vocab);
  const ids = tokenizeGreedy(vocab, DOCUMENT);
  const t0 = now();
  const index = new VocabIndex(vocab);
  const indexMs = now() - t0;
  const rows: [string, string][] = [
    ['synthetic vocabulary', `${vocab.size} tokens; document ${new TextEncoder().encode(DOCUMENT).length} bytes = ${ids.length} tokens`],
    ['vocabulary index (once per engine)', `${indexMs.toFixed(0)} ms`],
  ];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const pct = (us: number) => `${((us / 1000 / args['step-ms']) * 100).toFixed(2)} % of a ${args['step-ms']} ms step`;
  const replay = (label: string, format: GrammarFormat, tokens: number[]) => {
    const cold: number[] = [];
    const warm: number[] = [];
    let p95 = 0;
    let max = 0;
    for (let r = 0; r < args.runs; r++) {
      // A new cache per run: no mask carries over (the index is the engine's, built once).
      const cache = new GrammarCache(vocab, [], vocab.size, index);
      const c = timeReplay(tokens, vocab.size, cache.constraint(format), now);
      cold.push(c.meanUs);
      p95 = Math.max(p95, c.p95Us);
      max = Math.max(max, c.maxUs);
      warm.push(timeReplay(tokens, vocab.size, cache.constraint(format), now).meanUs);
    }
    rows.push(
      [`${label}, cold cache (new format)`, `${median(cold).toFixed(0)} µs/token mean (p95 ${p95.toFixed(0)}, max ${max.toFixed(0)}) = ${pct(median(cold))}`],
      [`${label}, warm cache (repeated format)`, `${median(warm).toFixed(0)} µs/token mean = ${pct(median(warm))}`],
    );
  };
  replay('mask + advance', FORMAT, ids);
  const taggedIds = tokenizeGreedy(vocab, TAGGED_TEXT);
  replay(`tool call under auto (${taggedIds.length} tokens)`, TAGGED, taggedIds);
  return rows;
}

console.log(`bench:grammar  load ${loadavg()[0]!.toFixed(2)}  runs ${args.runs}`);
const rows = [...(await tinyEngine()), ...fullSizeMask()];
for (const line of formatTable(rows)) console.log(line);
