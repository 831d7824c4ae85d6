/**
 * The text `npm start` prints once the stack is ready: where it is, how to call it, and which
 * model it serves. What is served is read from the running stack (the origin's metrics, the
 * revision's manifest in S3, the generator's stamp under the data dir), not assumed from the
 * configuration: a bucket may already hold real weights under the default model id.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchManifest, resolveRef } from '../../origin/src/weights/refs.ts';
import { STAMP_FILE } from '../../tools/model-gen/generate-model.ts';
import type { StackConfig } from './config.ts';
import type { Stack } from './stack.ts';

export interface ServedModel {
  id: string;
  /** The weights revision the origin serves; undefined if neither the origin nor S3 said. */
  revision?: string;
  /** Where the origin syncs the weights from, e.g. `s3://motif-weights/models/motif-tiny @ stable`. */
  source: string;
  /** Set when the revision is a model this stack generated (random weights): its preset. */
  generatedPreset?: string;
  /** The origin's engine backend (MOTIF_ENGINE); default native. */
  engine?: string;
}

export function banner(stack: Stack, cfg: StackConfig, served: ServedModel): string {
  const base = `${stack.edgeUrl}/v1`;
  const what = served.generatedPreset
    ? `the generated ${served.generatedPreset} random-weight Motif (real architecture, gibberish output)`
    : `weights from ${served.source}`;
  const footer = served.generatedPreset
    ? 'Set MOTIF_MODEL_DIR / MOTIF_MODEL_ID to serve real weights (see README). Ctrl-C stops everything.'
    : 'Ctrl-C stops everything.';
  return `
motif-edge is up (edge on ${cfg.MOTIF_EDGE === 'worker' ? 'workerd (wrangler dev)' : 'Node'}, origin with the ${served.engine ?? 'native'} engine, ${cfg.MOTIF_S3_ENDPOINT ? `S3 at ${cfg.MOTIF_S3_ENDPOINT}` : 'embedded S3'})

  base URL   ${base}
  API key    ${stack.apiKey}
  model      ${served.id} (revision ${served.revision ?? 'unknown'})
             ${what}
  metrics    ${stack.originUrl}/metrics ${stack.originMetricsToken ? `(Authorization: Bearer ${stack.originMetricsToken})` : '(public)'}

Try it (streams tokens):

  curl -N ${base}/chat/completions \\
    -H "Authorization: Bearer ${stack.apiKey}" -H "Content-Type: application/json" \\
    -d '{"model":"${served.id}","stream":true,"max_tokens":32,"messages":[{"role":"user","content":"Hello!"}]}'

Or with the official openai SDK (npm i openai):

  import OpenAI from 'openai';
  const client = new OpenAI({ baseURL: '${base}', apiKey: '${stack.apiKey}' });
  const stream = await client.chat.completions.create({
    model: '${served.id}', stream: true, max_tokens: 32,
    messages: [{ role: 'user', content: 'Hello!' }],
  });
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');

Manage tenants, keys and usage with the admin CLI (the edge's admin token is shown here):

  MOTIF_ADMIN_URL=${stack.edgeUrl} MOTIF_ADMIN_TOKEN=${cfg.adminToken} npm run admin -- tenants list
  MOTIF_ADMIN_URL=${stack.edgeUrl} MOTIF_ADMIN_TOKEN=${cfg.adminToken} npm run admin -- --help

${footer}
`;
}

/** Ask the running stack what it serves. Never throws: an unknown detail is left out. */
export async function servedModel(stack: Stack, cfg: StackConfig): Promise<ServedModel> {
  const remote = { s3: stack.s3.client, bucket: stack.s3.bucket, model: stack.model };
  const source = `s3://${stack.s3.bucket}/models/${stack.model} @ ${cfg.MOTIF_WEIGHTS_REF}`;
  const revision =
    (await originRevision(stack.originUrl, stack.originMetricsToken)) ?? (await resolveRef({ ...remote, ref: cfg.MOTIF_WEIGHTS_REF }).catch(() => undefined));
  if (!revision) return { id: stack.model, source };
  const manifest = await fetchManifest({ ...remote, revision }).catch(() => undefined);
  const generatedPreset = manifest ? await generatedBy(cfg.dataDir, manifest.files) : undefined;
  return { id: stack.model, revision, source, ...(generatedPreset ? { generatedPreset } : {}) };
}

/** The revision the origin reports serving (`motif_origin_weights_revision{revision="…"} 1`). */
export async function originRevision(originUrl: string, metricsToken: string | undefined): Promise<string | undefined> {
  const headers: Record<string, string> = metricsToken ? { authorization: `Bearer ${metricsToken}` } : {};
  const text = await fetch(`${originUrl}/metrics`, { headers, signal: AbortSignal.timeout(3000) })
    .then((r) => (r.ok ? r.text() : ''))
    .catch(() => '');
  return parseServedRevision(text);
}

export function parseServedRevision(metrics: string): string | undefined {
  return /^motif_origin_weights_revision\{revision="([^"]+)"\} 1$/m.exec(metrics)?.[1];
}

/**
 * The preset of a model the stack generated under `<dataDir>/models/` whose files (paths and
 * sizes) are exactly the served revision's, or undefined. The stamp file records what the
 * generator wrote; a real model published under the same id will not match it.
 */
export async function generatedBy(dataDir: string, files: readonly { path: string; size: number }[]): Promise<string | undefined> {
  const want = fileKey(files);
  const root = join(dataDir, 'models');
  for (const name of await readdir(root).catch(() => [] as string[])) {
    try {
      const stamp = JSON.parse(await readFile(join(root, name, STAMP_FILE), 'utf8')) as {
        key?: { preset?: unknown };
        files?: { path: string; size: number }[];
      };
      if (stamp.files && fileKey(stamp.files) === want) return typeof stamp.key?.preset === 'string' ? stamp.key.preset : 'random';
    } catch {
      // not a generated model dir
    }
  }
  return undefined;
}

function fileKey(files: readonly { path: string; size: number }[]): string {
  return files
    .map((f) => `${f.path}\t${f.size}`)
    .sort()
    .join('\n');
}
