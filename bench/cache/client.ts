/**
 * The client of `npm run bench:cache`: node:http over one keep-alive connection, reading each
 * answer whole. A hit costs the edge about a millisecond; the global `fetch` adds a few hundred
 * microseconds of its own per request (a WHATWG Request, web streams), which would be measured
 * as the edge's. Both misses and hits pay this client's small, fixed cost alike.
 */
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** POST `body` as JSON and read the whole answer. */
export function postJson(url: string, headers: Record<string, string>, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The `data:` payloads of an SSE body, in order. */
export function sseDataOf(body: string): string[] {
  const out: string[] = [];
  for (const event of body.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length > 0) out.push(data.join('\n'));
  }
  return out;
}

/** Close the pooled connection. */
export function closeClient(): void {
  agent.destroy();
}
