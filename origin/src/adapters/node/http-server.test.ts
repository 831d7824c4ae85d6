/**
 * The origin's HTTP server on a real socket: a client that uploads slowly is cut by the request
 * timeout, while a streamed reply that outlasts that timeout is not; requests refused before the
 * app runs get OpenAI error JSON.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorBody } from '#shared/errors.ts';
import { PRE_ROUTE_CASES, sendRaw } from '#shared/testing/pre-route-cases.ts';
import { listenHttp, type NodeHttpServer } from './http-server.ts';

const timeouts = { requestTimeoutMs: 600, headersTimeoutMs: 500, checkIntervalMs: 100 };
let server: NodeHttpServer | undefined;
afterEach(async () => {
  await server?.close(100);
  server = undefined;
});

/** Answers with `ticks` lines, one every 150 ms, after reading the whole body. */
async function streamingApp(req: Request, ticks: number): Promise<Response> {
  await req.arrayBuffer();
  let n = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      await new Promise((r) => setTimeout(r, 150));
      ctl.enqueue(new TextEncoder().encode(`tick ${n}\n`));
      if (++n === ticks) ctl.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/plain' } });
}

describe('listenHttp timeouts', () => {
  it('a streamed reply longer than the request timeout is not cut', async () => {
    server = await listenHttp((req) => streamingApp(req, 10), '127.0.0.1', 0, timeouts);
    const t0 = Date.now();
    const res = await fetch(`http://127.0.0.1:${server.port}/`, { method: 'POST', body: 'x' });
    const text = await res.text();
    expect(Date.now() - t0).toBeGreaterThan(timeouts.requestTimeoutMs);
    expect(text.trim().split('\n')).toHaveLength(10);
  });

  it('a stalled upload is cut with 408 within the request timeout', async () => {
    server = await listenHttp((req) => streamingApp(req, 1), '127.0.0.1', 0, timeouts);
    const port = server.port;
    const t0 = Date.now();
    const reply = await new Promise<string>((resolve) => {
      let got = '';
      const s = connect(port, '127.0.0.1', () => s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a few bytes'));
      s.on('data', (d) => {
        got += d.toString();
      });
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(ErrorBody.parse(JSON.parse(reply.split('\r\n\r\n')[1]!)).error.code).toBe('request_timeout');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('listenHttp refusals before the app', () => {
  it.each(PRE_ROUTE_CASES)('$name → $status with OpenAI error JSON', async ({ bytes, status }) => {
    server = await listenHttp(() => new Response('app reached'), '127.0.0.1', 0, timeouts);
    const reply = await sendRaw(server.port, bytes);
    expect(reply.status).toBe(status);
    expect(reply.contentType).toBe('application/json');
    expect(ErrorBody.safeParse(JSON.parse(reply.body)).success, reply.body).toBe(true);
  });
});
