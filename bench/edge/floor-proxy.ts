/**
 * The floor of `npm run bench:edge`: the least a Node proxy can do — a node:http server that
 * reads the request, sends it unchanged to the upstream over a keep-alive agent and copies the
 * answer back. No routing, auth, limits, signing or metering. Its CPU per request, measured in
 * the same run on the same core as the edge, is what Node's HTTP stack alone costs on this
 * machine: the edge's own work is what it costs beyond that.
 *
 * `MOTIF_FLOOR_UPSTREAM` = the upstream's base URL. Prints `floor listening <url>`.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const upstream = new URL(process.env.MOTIF_FLOOR_UPSTREAM ?? '');
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
    const up = request(new URL(req.url ?? '/', upstream), { method: req.method, agent, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => {
      res.writeHead(502).end();
    });
    up.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(`floor listening http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
