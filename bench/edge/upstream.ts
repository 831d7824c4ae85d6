/**
 * The canned upstream of `npm run bench:edge`: an origin without a model. It speaks the origin's
 * side of the protocol so the edge does all of its real work in front of it:
 *   - verifies the edge's signature on every forwarded request (shared/signing.ts, with a replay
 *     guard on the request id), as the origin's server does;
 *   - answers `POST /v1/chat/completions` with a small OpenAI JSON completion, or an SSE stream
 *     (role chunk, a few content chunks, finish, usage when asked, `[DONE]`) as the origin streams;
 *   - writes one usage record per request and drains them to the edge's ledger with the origin's
 *     own deliverer (signed `POST /internal/usage`, up to 200 records a batch);
 *   - sends the origin's signed heartbeat every second so the edge routes to it.
 * No engine, no admission queue: whatever time a request spends beyond this is the edge's.
 *
 * Configured like an origin: MOTIF_ORIGIN_SECRET (verifies the edge), MOTIF_NODE_KEY + MOTIF_NODE_ID
 * + MOTIF_REPLICA_ID (signs to the edge), MOTIF_EDGE_URL (optional: without it, no heartbeats and
 * no usage delivery). Prints `upstream listening <url>` once it listens. `GET /_bench/state`
 * answers what the orchestrator waits on (requests served, usage records not yet delivered).
 */
import { realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, toErrorResponseParts } from '#shared/errors.ts';
import { HEADERS } from '#shared/protocol.ts';
import { parseKeyring, ReplayGuard, SIGNATURE_HEADER, signInputFrom, verify } from '#shared/signing.ts';
import { SSE_DONE, SSE_HEADERS, sseData } from '#shared/sse.ts';
import type { UsageRecord } from '#shared/usage.ts';
import { nodeDigests } from '../../edge/src/adapters/node/digests.ts';
import { createEdgeClient } from '../../origin/src/pool/edge-client.ts';
import { createHeartbeat } from '../../origin/src/pool/heartbeat.ts';
import type { OutboxEntry, UsageOutbox } from '../../origin/src/ports.ts';
import { createUsageDeliverer } from '../../origin/src/usage/deliverer.ts';

export const BENCH_MODEL = 'bench-model';
const REVISION = 'bench-rev';
const PIECES = ['The', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' dog.'];
const PROMPT_TOKENS = 12;

/**
 * An outbox for a long run: a queue with a moving head. (The origin's in-memory outbox scans every
 * record it ever held on each `pending` call; a bench appends hundreds of thousands.)
 */
function queueOutbox(): UsageOutbox & { size(): number } {
  let entries: OutboxEntry[] = [];
  let head = 0;
  let seq = 0;
  return {
    size: () => entries.length - head,
    async append(record: UsageRecord) {
      entries.push({ id: ++seq, record });
    },
    async pending(limit: number) {
      return entries.slice(head, head + limit);
    },
    async markDelivered(ids: readonly number[]) {
      // Batches are acknowledged oldest first, one at a time: advance past the highest id.
      const last = Math.max(...ids);
      while (head < entries.length && entries[head]!.id <= last) head++;
      if (head > 10_000) {
        entries = entries.slice(head);
        head = 0;
      }
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendError(res: ServerResponse, err: unknown): void {
  const { status, body, headers } = toErrorResponseParts(err);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function main(): Promise<void> {
  const env = process.env;
  if (!env.MOTIF_ORIGIN_SECRET) throw new Error('MOTIF_ORIGIN_SECRET is required');
  const keyring = parseKeyring(env.MOTIF_ORIGIN_SECRET).ring;
  const replicaId = env.MOTIF_REPLICA_ID ?? 'bench';
  const guard = new ReplayGuard();
  const outbox = queueOutbox();
  const state = { requests: 0, refused: 0, delivered: 0 };
  let wake = () => {};

  const server = createServer(async (req, res) => {
    try {
      if (req.method === 'GET' && req.url === '/_bench/state') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...state, pendingUsage: outbox.size() }));
        return;
      }
      const path = (req.url ?? '').split('?')[0]!;
      if (req.method !== 'POST' || path !== '/v1/chat/completions') throw new ApiError('not_found', 'Unknown endpoint.');
      const startedAt = Date.now();
      const body = await readBody(req);
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v.join(', ') : v;
      };
      await verify(header(SIGNATURE_HEADER), signInputFrom('POST', path, header, body), keyring, startedAt, nodeDigests);
      const requestId = header(HEADERS.requestId) ?? '';
      if (!requestId || !guard.check(requestId, startedAt)) throw new ApiError('conflict', 'Missing or replayed request id.');
      const json = JSON.parse(body.toString('utf8')) as { model?: unknown; stream?: unknown; stream_options?: { include_usage?: boolean } };
      const model = String(json.model);
      const id = `chatcmpl-${requestId}`;
      const created = Math.floor(startedAt / 1000);
      const usage = { prompt_tokens: PROMPT_TOKENS, completion_tokens: PIECES.length, total_tokens: PROMPT_TOKENS + PIECES.length };
      if (json.stream === true) {
        res.writeHead(200, SSE_HEADERS);
        const chunk = (delta: Record<string, string>, finish: string | null) =>
          sseData({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
        res.write(chunk({ role: 'assistant', content: '' }, null));
        for (const p of PIECES) res.write(chunk({ content: p }, null));
        res.write(chunk({}, 'stop'));
        if (json.stream_options?.include_usage) res.write(sseData({ id, object: 'chat.completion.chunk', created, model, choices: [], usage }));
        res.end(SSE_DONE);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id,
            object: 'chat.completion',
            created,
            model,
            choices: [{ index: 0, message: { role: 'assistant', content: PIECES.join('') }, logprobs: null, finish_reason: 'stop' }],
            usage,
          }),
        );
      }
      state.requests++;
      await outbox.append({
        request_id: requestId,
        replica_id: replicaId,
        tenant_id: header(HEADERS.tenantId) || 'unknown',
        key_id: header(HEADERS.keyId) ?? '',
        model,
        revision: REVISION,
        endpoint: 'chat.completions',
        prompt_tokens: PROMPT_TOKENS,
        cached_tokens: 0,
        completion_tokens: PIECES.length,
        outcome: 'finish',
        started_at: startedAt,
        finished_at: Date.now(),
      });
      wake();
    } catch (err) {
      state.refused++;
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  if (env.MOTIF_EDGE_URL) {
    if (!env.MOTIF_NODE_KEY || !env.MOTIF_NODE_ID) throw new Error('MOTIF_NODE_KEY and MOTIF_NODE_ID are required with MOTIF_EDGE_URL');
    const log = (line: string) => process.stderr.write(`upstream: ${line}\n`);
    const client = createEdgeClient({ baseUrl: env.MOTIF_EDGE_URL, signingKey: parseKeyring(env.MOTIF_NODE_KEY).signing, replicaId });
    const nodeId = env.MOTIF_NODE_ID;
    createHeartbeat({
      client,
      log,
      snapshot: () => ({
        replica_id: replicaId,
        node_id: nodeId,
        url,
        model: BENCH_MODEL,
        revision: REVISION,
        state: 'ready',
        waiting: 0,
        running: 0,
        max_running: 1024,
        kv_usage: 0,
        tokens_per_s: 0,
        ts: Date.now(),
      }),
    }).start();
    const deliverer = createUsageDeliverer({ outbox, client, log, onDelivered: (n) => (state.delivered += n) });
    wake = () => deliverer.notify();
    deliverer.start();
  }
  process.stdout.write(`upstream listening ${url}\n`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && realpathSync(process.argv[1]) === import.meta.filename) {
  main().catch((err: unknown) => {
    process.stderr.write(`upstream failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
