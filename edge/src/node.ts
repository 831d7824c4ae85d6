/**
 * Composition root for Node (the on-prem appliance): SQLite (better-sqlite3) for keys, the
 * usage ledger and the replay window of signed internal calls, limits decided in memory by the host's only edge process or in a file several share (adapters/node/host-limiter.ts), an in-process pool registry, @hono/node-server for HTTP. Run directly
 * (`tsx edge/src/node.ts`) it reads the environment, exits with a message naming the variable on
 * bad config, and shuts down cleanly on SIGINT/SIGTERM (in-flight streams get a grace period).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getRequestListener } from '@hono/node-server';
import { eventLoopDelayGauges } from '#shared/event-loop-delay.ts';
import { replyToClientError, replyToUnmetExpectation, unparsableRequest } from '#shared/pre-route-errors.ts';
import { cachedKeyStore } from './adapters/memory/cached-key-store.ts';
import { systemClock } from './adapters/memory/clock.ts';
import { memoryPool } from './adapters/memory/pool.ts';
import { memoryResponseCache } from './adapters/memory/response-cache.ts';
import { nodeDigests } from './adapters/node/digests.ts';
import { durableLedger } from './adapters/node/durable-ledger.ts';
import { isEntryPoint } from './adapters/node/entry-point.ts';
import { type HostLimiter, openHostLimiter } from './adapters/node/host-limiter.ts';
import { nodeOriginFetch } from './adapters/node/origin-fetch.ts';
import { openSqlite } from './adapters/node/sqlite.ts';
import { BACKSTOP_PAGES, startWalCheckpointer } from './adapters/node/wal-checkpointer.ts';
import { createEdgeApp, type Logger } from './app.ts';
import { ConfigError, type EdgeConfig, edgeAppOptions, loadEdgeConfig } from './config.ts';
import { type JwtConfig, parseJwks } from './config-jwt.ts';
import { pepperedKeyHasher } from './keys/key-hash.ts';
import type { JwtOptions } from './middleware/auth/jwt.ts';
import type { Clock } from './ports.ts';
import type { OriginFetch } from './proxy/upstream.ts';
import { seedDevKey } from './seed.ts';
import { sqlKeyStore } from './stores/sql-keys.ts';
import { keysChangeWatch } from './stores/sql-keys-version.ts';
import { sqlReplayWindow, withMemoryFallback } from './stores/sql-replay.ts';
import { sqlResponseStore } from './stores/sql-responses.ts';
import { lingeringLedger } from './usage/lingering-ledger.ts';

export interface NodeEdge {
  url: string;
  close(): Promise<void>;
}

export interface NodeEdgeExtras {
  log?: Logger;
  clock?: Clock;
  originFetch?: OriginFetch;
  /** How long `close()` lets open responses (streams) finish before cutting them (default 10 s). */
  closeGraceMs?: number;
}

/** Start the edge on Node; resolves once it listens. */
export async function startNodeEdge(config: EdgeConfig, extras: NodeEdgeExtras = {}): Promise<NodeEdge> {
  const log = extras.log ?? jsonLog;
  const clock = extras.clock ?? systemClock();
  const jwt = config.jwt && readJwksFile(config.jwt);
  const keyHasher = pepperedKeyHasher(config.keyPepper, nodeDigests);
  mkdirSync(config.dataDir, { recursive: true });
  const edgeFile = join(config.dataDir, 'edge.sqlite');
  const replayFile = join(config.dataDir, 'replay.sqlite');
  const limitsFile = join(config.dataDir, 'limits.sqlite');
  // Checkpoints run on a worker thread (adapters/node/wal-checkpointer.ts): every connection
  // below keeps SQLite's in-commit checkpoint only as a backstop.
  const autoCheckpointPages = BACKSTOP_PAGES;
  const sqlite = openSqlite(edgeFile, { autoCheckpointPages });
  // A second connection for the ledger's writes: it commits without fsync and syncs the WAL off
  // the event loop before acknowledging (adapters/node/durable-ledger.ts).
  const ledgerSqlite = openSqlite(edgeFile, { synchronous: 'NORMAL', autoCheckpointPages });
  // The replay window is written on every internal call; losing it to a power cut only forgets
  // ids that the signatures' 5-minute skew bound and the ledger's idempotency still cover.
  const replaySqlite = openSqlite(replayFile, { synchronous: 'NORMAL', autoCheckpointPages });
  // Limits live in their own file: decided in memory by the host's only edge process, or in the
  // file by each of several (adapters/node/host-limiter.ts).
  let limits: HostLimiter;
  try {
    limits = await openHostLimiter(limitsFile, { scope: config.limitsScope, autoCheckpointPages, log });
  } catch (err) {
    ledgerSqlite.close();
    sqlite.close();
    replaySqlite.close();
    throw new ConfigError(`the edge cannot start: ${(err as Error).message}`);
  }
  const checkpointer = startWalCheckpointer([edgeFile, replayFile, limitsFile], {
    onError: (file, message) => log('WAL checkpoint failed (retried next round)', { file, error: message }),
  });
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const origins = nodeOriginFetch();
  try {
    // Looked up once, not on every request: before each lookup the cache reads a counter that
    // triggers move on any change to tenants or keys, so a key revoked by another edge process
    // stops working at once.
    const keys = cachedKeyStore(sqlKeyStore(sqlite.db), { clock, changed: keysChangeWatch(sqlite.db) });
    const ledger = durableLedger(ledgerSqlite.db, edgeFile);
    // Cache hits' records, gathered for 50 ms: one ledger commit and fsync for a stream of hits.
    const hitLedger = lingeringLedger(ledger);
    if (config.devApiKey) {
      const keyId = await seedDevKey(keys, keyHasher, config.devApiKey, clock.now());
      log('dev API key seeded', { tenant: 'dev', keyId });
    }
    const app = createEdgeApp({
      keys,
      keyHasher,
      jwt,
      ledger,
      hitLedger,
      replayWindow: withMemoryFallback(sqlReplayWindow(replaySqlite.db), (msg) => log(msg)),
      limiter: limits.limiter,
      pool: memoryPool(),
      // Per process: each edge process on the host keeps (and coalesces within) its own cache.
      responseCache: config.cache.enabled ? memoryResponseCache({ maxEntries: config.cache.maxEntries, maxBytes: config.cache.maxBytes }) : undefined,
      // Beside the ledger, on its connection that commits without an fsync: a stored response
      // lost to a power cut is one a client cannot continue from, not a billing record.
      responseStore: sqlResponseStore(ledgerSqlite.db),
      clock,
      signingKey: config.signingKey,
      nodeKeys: config.nodeKeys,
      originAllow: config.originAllow,
      originFetch: extras.originFetch ?? origins.fetch,
      digests: nodeDigests,
      options: edgeAppOptions(config),
      schedulerProfile: config.routingProfile,
      log,
      extraMetrics: eventLoopDelayGauges(loopDelay, { now: () => clock.now() }).render,
    });
    const server = await listen(app.fetch, config.port, config.host);
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${host}:${addr.port}`;
    log('edge listening', { url });
    let closing: Promise<void> | undefined;
    return {
      url,
      close() {
        closing ??= (async () => {
          await stopServer(server, extras.closeGraceMs ?? 10_000);
          await hitLedger.flush();
          await ledger.close();
          ledgerSqlite.close();
          sqlite.close();
          limits.close();
          replaySqlite.close();
          origins.close();
          loopDelay.disable();
          await checkpointer.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    ledgerSqlite.close();
    sqlite.close();
    limits.close();
    replaySqlite.close();
    origins.close();
    loopDelay.disable();
    void checkpointer.close();
    throw err;
  }
}

/** JWT options with a JWKS file (MOTIF_JWT_JWKS_FILE) read now, so a bad file stops the start. */
function readJwksFile(jwt: JwtConfig): JwtOptions {
  if (!('file' in jwt.jwks)) return { ...jwt, jwks: jwt.jwks };
  try {
    return { ...jwt, jwks: { set: parseJwks(readFileSync(jwt.jwks.file, 'utf8')) } };
  } catch (err) {
    throw new ConfigError(`invalid edge configuration:\n  MOTIF_JWT_JWKS_FILE: ${(err as Error).message}`);
  }
}

function listen(fetch: (req: Request) => Response | Promise<Response>, port: number, hostname: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(getRequestListener(fetch, { hostname, errorHandler: unparsableRequest }));
    // Requests refused before the app runs get OpenAI error JSON too (shared/src/pre-route-errors.ts).
    server.on('clientError', replyToClientError);
    server.on('checkExpectation', replyToUnmetExpectation);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
    server.listen(port, hostname);
  });
}

/** Stop accepting, let open responses finish for up to `graceMs`, then cut what is left. */
function stopServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
  });
}

function jsonLog(msg: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ t: new Date().toISOString(), component: 'edge', msg, ...fields }));
}

async function main(): Promise<void> {
  let config: EdgeConfig;
  try {
    config = loadEdgeConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
  const edge = await startNodeEdge(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    jsonLog('shutting down', { signal });
    edge.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (isEntryPoint(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
