/**
 * The load client of `npm run bench:edge`, in its own process (so its CPU is never the edge's):
 * node:http with keep-alive agents, closed loops (each connection sends its next request when
 * the last one ended). It runs one phase per IPC message and answers with the phase's summary.
 *
 * The same client calls either target. Through the edge it sends what an OpenAI client sends
 * (a bearer key); straight to the upstream it sends what the edge would forward (the protocol
 * headers, signed), signing before the clock starts so both paths time only the HTTP exchange.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { HEADERS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, type SigningKey, signHeaders } from '#shared/signing.ts';
import { nodeDigests } from '../../edge/src/adapters/node/digests.ts';
import { type LatencySummary, summarize } from './stats.ts';

export interface PhaseSpec {
  /** Base URL of the target (the edge or the upstream). */
  url: string;
  auth: { kind: 'bearer'; apiKey: string } | { kind: 'signed'; key: SigningKey };
  model: string;
  stream: boolean;
  connections: number;
  durationMs: number;
}

export interface PhaseResult {
  /** End-to-end latency (non-stream) or time to the first body byte (stream), ms. */
  latency: LatencySummary;
  requests: number;
  errors: number;
  /** The first error seen, for the report. */
  firstError?: string;
  elapsedMs: number;
  rps: number;
  /** This process's CPU time during the phase, µs. */
  clientCpuUs: number;
}

const PATH = '/v1/chat/completions';
const agents = new Map<string, http.Agent>();
let seq = 0;

function agentFor(url: string): http.Agent {
  let a = agents.get(url);
  if (!a) {
    a = new http.Agent({ keepAlive: true, maxSockets: 256, noDelay: true } as http.AgentOptions);
    agents.set(url, a);
  }
  return a;
}

/** Body and headers of one request; signed requests get a fresh request id each. */
async function prepare(spec: PhaseSpec): Promise<{ body: string; headers: Record<string, string> }> {
  const req: Record<string, unknown> = { model: spec.model, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 16 };
  if (spec.stream) req.stream = true;
  if (spec.auth.kind === 'bearer') {
    const body = JSON.stringify(req);
    return { body, headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.auth.apiKey}` } };
  }
  // What the edge forwards: usage asked for on every stream, the client's own choice in a header.
  if (spec.stream) req.stream_options = { include_usage: true };
  const body = JSON.stringify(req);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: spec.stream ? 'text/event-stream' : 'application/json',
    ...(spec.stream ? { [HEADERS.clientWantsUsage]: '0' } : {}),
    [HEADERS.requestId]: `bench-${process.pid}-${++seq}`,
    [HEADERS.tenantId]: 'bench-direct',
    [HEADERS.keyId]: 'bench-direct',
    [HEADERS.deadline]: String(Date.now() + 600_000),
  };
  headers[SIGNATURE_HEADER] = await signHeaders('POST', PATH, headers, body, spec.auth.key, Date.now(), nodeDigests);
  return { body, headers };
}

interface Outcome {
  ok: boolean;
  ms: number;
  error?: string;
}

function send(agent: http.Agent, target: URL, body: string, headers: Record<string, string>, stream: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({
      agent,
      host: target.hostname,
      port: target.port,
      path: PATH,
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      let first = -1;
      let text = '';
      res.on('data', (chunk: Buffer) => {
        if (first < 0) first = performance.now();
        if (res.statusCode !== 200 && text.length < 300) text += chunk.toString('utf8');
      });
      res.on('end', () => {
        const end = performance.now();
        const ok = res.statusCode === 200;
        resolve({ ok, ms: (stream ? first : end) - t0, error: ok ? undefined : `HTTP ${res.statusCode} ${text.slice(0, 300)}` });
      });
      res.on('error', (err) => resolve({ ok: false, ms: 0, error: err.message }));
    });
    req.on('error', (err) => resolve({ ok: false, ms: 0, error: err.message }));
    req.end(body);
  });
}

/** One phase: `connections` closed loops for `durationMs`. */
export async function runPhase(spec: PhaseSpec): Promise<PhaseResult> {
  const agent = agentFor(spec.url);
  const target = new URL(spec.url);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + spec.durationMs;
  const loop = async () => {
    while (performance.now() < end) {
      const { body, headers } = await prepare(spec);
      const r = await send(agent, target, body, headers, spec.stream);
      if (r.ok) latencies.push(r.ms);
      else {
        errors++;
        firstError ??= r.error;
        // A refusing target answers fast: don't spin on it.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, loop));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    latency: summarize(latencies),
    requests: latencies.length,
    errors,
    firstError,
    elapsedMs,
    rps: (latencies.length * 1000) / elapsedMs,
    clientCpuUs: cpu.user + cpu.system,
  };
}

export interface LoadClient {
  child: ChildProcess;
  call(spec: PhaseSpec): Promise<PhaseResult>;
}

/** Start this file as the load client in its own process (`launcher`: e.g. `taskset -c 1`); one call at a time. */
export function startLoadClient(launcher: string[]): LoadClient {
  const [cmd, ...args] = [...launcher, process.execPath, '--import', 'tsx', import.meta.filename];
  // From the repo root, where `--import tsx` resolves.
  const child = spawn(cmd!, args, { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    child,
    call: (spec) =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`load client exited (${code})`));
        child.once('exit', onExit);
        child.once('message', (m: { ok: boolean; result?: PhaseResult; error?: string }) => {
          child.off('exit', onExit);
          if (m.ok) resolve(m.result!);
          else reject(new Error(`load client: ${m.error}`));
        });
        child.send(spec);
      }),
  };
}

if (process.send && process.argv[1] && realpathSync(process.argv[1]) === import.meta.filename) {
  process.on('message', (msg: PhaseSpec) => {
    runPhase(msg).then(
      (r) => process.send!({ ok: true, result: r }),
      (err: unknown) => process.send!({ ok: false, error: String((err as Error).stack ?? err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
