// The llama.cpp side of `bench:engine -- --peer`, run by node from the directory node-llama-cpp
// was installed into (it is not a dependency of the project). Loads the GGUF on the CPU with the
// given thread count, then answers one JSON command per stdin line with one JSON line on stdout:
//   {"op":"prefill","tokens":[…]}                         → {"ms": …}
//   {"op":"decode","batch":B,"prompt":[…],"steps":S}      → {"ms": …, "tokens": B×S}
// Decode: B sequences, each prefilled with the prompt, then S greedy tokens each, generated
// together (node-llama-cpp batches the sequences of a context into one evaluation per step).
import { createInterface } from 'node:readline';
import { getLlama } from 'node-llama-cpp';

const [modelPath, threadsArg, maxBatchArg, contextArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const maxBatch = Number(maxBatchArg);
const contextSize = Number(contextArg);

const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
// contextSize is per sequence in node-llama-cpp.
const context = await model.createContext({ contextSize, sequences: maxBatch, threads, batchSize: 512 });
const send = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function prefill(tokens) {
  const seq = context.getSequence();
  try {
    const t0 = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(tokens);
    return { ms: performance.now() - t0 };
  } finally {
    seq.dispose();
  }
}

async function decode(batch, prompt, steps) {
  const seqs = Array.from({ length: batch }, () => context.getSequence());
  try {
    await Promise.all(seqs.map((s) => s.evaluateWithoutGeneratingNewTokens(prompt)));
    const t0 = performance.now();
    await Promise.all(
      seqs.map(async (s) => {
        let n = 0;
        for await (const _ of s.evaluate([prompt[prompt.length - 1]], { temperature: 0 })) if (++n >= steps) break;
      }),
    );
    return { ms: performance.now() - t0, tokens: batch * steps };
  } finally {
    for (const s of seqs) s.dispose();
  }
}

const features = String(llama.systemInfo ?? '')
  .split('|')
  .map((f) => f.replace(/^\s*CPU\s*:/, '').trim())
  .filter((f) => f.endsWith('= 1'))
  .map((f) => f.replace(/ = 1$/, ''));
send({ ready: true, version: llama.llamaCppRelease?.release ?? 'unknown', build: llama.buildType, features: features.join(' ') });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  try {
    if (cmd.op === 'prefill') send(await prefill(cmd.tokens));
    else if (cmd.op === 'decode') send(await decode(cmd.batch, cmd.prompt, cmd.steps));
    else send({ error: `unknown op ${cmd.op}` });
  } catch (err) {
    send({ error: String(err?.stack ?? err) });
  }
}
await context.dispose();
await model.dispose();
