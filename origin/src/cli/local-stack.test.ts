import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketFromEnv, findRunningEmbeddedS3, localPaths, markerPath, removeEmbeddedS3Marker, s3PortFromEnv, writeEmbeddedS3Marker } from './local-stack.ts';

describe('local stack paths', () => {
  it('default to .data under the working dir, like npm start', () => {
    expect(localPaths({}, '/repo')).toEqual({ dataDir: '/repo/.data', s3Dir: '/repo/.data/s3', store: '/repo/.data/origin/weights' });
    expect(bucketFromEnv({})).toBe('motif-weights');
    expect(s3PortFromEnv({})).toBe(4690);
  });

  it('follow MOTIF_DATA_DIR (relative or absolute), and MOTIF_WEIGHTS_STORE for the store', () => {
    expect(localPaths({ MOTIF_DATA_DIR: 'tmp/d' }, '/repo')).toMatchObject({ s3Dir: '/repo/tmp/d/s3', store: '/repo/tmp/d/origin/weights' });
    expect(localPaths({ MOTIF_DATA_DIR: '/srv/motif', MOTIF_WEIGHTS_STORE: 'w' }, '/repo')).toMatchObject({ s3Dir: '/srv/motif/s3', store: '/repo/w' });
    // Empty counts as unset, as for the origin's config.
    expect(localPaths({ MOTIF_DATA_DIR: '', MOTIF_WEIGHTS_STORE: '' }, '/repo').store).toBe('/repo/.data/origin/weights');
    expect(bucketFromEnv({ MOTIF_S3_BUCKET: 'b-1' })).toBe('b-1');
    expect(s3PortFromEnv({ MOTIF_S3_PORT: '4890' })).toBe(4890);
    expect(() => s3PortFromEnv({ MOTIF_S3_PORT: 'x' })).toThrow('MOTIF_S3_PORT');
  });

  it('keep the server marker beside the S3 data, not in it (s3rver would list it as a bucket)', () => {
    expect(markerPath('/repo/.data/s3')).toBe('/repo/.data/s3.server.json');
  });
});

describe('embedded S3 marker', () => {
  let tmp: string;
  let server: http.Server;
  let endpoint: string;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'local-stack-'));
    server = http.createServer((_req, res) => res.writeHead(403).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('finds the server this process recorded, and forgets it once removed', async () => {
    const dir = path.join(tmp, 'a', 's3');
    await fs.mkdir(path.dirname(dir), { recursive: true });
    expect(await findRunningEmbeddedS3(dir)).toBeNull();
    await writeEmbeddedS3Marker(dir, { endpoint, bucket: 'motif-weights' });
    expect(await findRunningEmbeddedS3(dir)).toEqual({ pid: process.pid, endpoint, bucket: 'motif-weights', dir });
    await removeEmbeddedS3Marker(dir);
    expect(await findRunningEmbeddedS3(dir)).toBeNull();
  });

  it.each([
    ['a dead pid (the stack was killed)', (dir: string, ep: string) => ({ pid: 2 ** 22 + 12345, endpoint: ep, bucket: 'b', dir })],
    ['another data dir (a copied marker)', (_dir: string, ep: string) => ({ pid: process.pid, endpoint: ep, bucket: 'b', dir: '/elsewhere/s3' })],
    ['a closed port', (dir: string) => ({ pid: process.pid, endpoint: 'http://127.0.0.1:1', bucket: 'b', dir })],
    ['garbage', () => 'not json'],
  ])('ignores a marker with %s', async (_name, marker) => {
    const dir = path.join(tmp, `m-${Math.random().toString(36).slice(2)}`, 's3');
    await fs.mkdir(path.dirname(dir), { recursive: true });
    const m = marker(dir, endpoint);
    await fs.writeFile(markerPath(dir), typeof m === 'string' ? m : JSON.stringify(m));
    expect(await findRunningEmbeddedS3(dir)).toBeNull();
  });

  it("leaves another process's marker in place", async () => {
    const dir = path.join(tmp, 'other', 's3');
    await fs.mkdir(path.dirname(dir), { recursive: true });
    await fs.writeFile(markerPath(dir), JSON.stringify({ pid: 1, endpoint, bucket: 'b', dir }));
    await removeEmbeddedS3Marker(dir);
    expect(await fs.readFile(markerPath(dir), 'utf8')).toContain('"pid":1');
  });
});
