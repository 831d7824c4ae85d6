import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { OriginCall } from '../../proxy/upstream.ts';
import { nodeOriginFetch } from './origin-fetch.ts';

const servers: Server[] = [];
const clients: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  for (const c of clients.splice(0)) c.close();
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const call = (base: string, signal = new AbortController().signal, body = '{"a":1}'): OriginCall => ({
  url: new URL('/v1/chat/completions', base),
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-request-id': 'r1' },
  body,
  signal,
});

function client() {
  const c = nodeOriginFetch();
  clients.push(c);
  return c;
}

describe('nodeOriginFetch', () => {
  it('sends the body and headers, answers JSON with status, headers and text, and reuses the socket', async () => {
    const ports = new Set<number>();
    const base = await serve((req, res) => {
      ports.add(req.socket.remotePort ?? 0);
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-echo-id': String(req.headers['x-request-id']) });
        res.end(JSON.stringify({ got: JSON.parse(body) }));
      });
    });
    const c = client();
    for (let i = 0; i < 3; i++) {
      const res = await c.fetch(call(base));
      expect(res.status).toBe(201);
      expect(res.ok).toBe(true);
      expect(res.headers.get('X-Echo-Id')).toBe('r1');
      expect(new Map(res.headers).get('content-type')).toBe('application/json');
      expect(JSON.parse(await res.text())).toEqual({ got: { a: 1 } });
    }
    expect(ports.size).toBe(1);
  });

  it('streams an SSE answer as it arrives', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      setTimeout(() => res.end('data: two\n\n'), 20);
    });
    const res = await client().fetch(call(base));
    expect(res.body).not.toBeNull();
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe('data: one\n\n');
  });

  it('rejects with a TypeError when the origin cannot be reached, as fetch does', async () => {
    const base = await serve(() => {});
    servers[0]!.close();
    await new Promise((r) => setTimeout(r, 10));
    await expect(client().fetch(call(base))).rejects.toBeInstanceOf(TypeError);
  });

  it('rejects with the signal reason when aborted before the answer', async () => {
    const base = await serve(() => {});
    const ac = new AbortController();
    const pending = client().fetch(call(base, ac.signal));
    setTimeout(() => ac.abort(new Error('client went away')), 20);
    await expect(pending).rejects.toThrow('client went away');
  });

  it('an origin that fails mid-answer gives a broken answer, not a connection error to fail over from', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const res = await client().fetch(call(base));
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toBeDefined();
  });
});
