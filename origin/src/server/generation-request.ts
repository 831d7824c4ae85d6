/**
 * The life of one generation request (`/v1/chat/completions`, `/v1/completions`), from the route
 * to its usage record: pin the engine → start the run (client abort + `x-deadline`, usage
 * tracker) → check it (deadline, body, model, replica state) → admission → engine → render
 * (engine-response.ts). Every failure before the response exists is settled here, once: the run
 * records how it ended and the error leaves through the app's `onError` as OpenAI error JSON.
 * Once a stream has begun, its pump settles the run instead (engine-response.ts).
 */
import type { Context } from 'hono';
import { ApiError } from '#shared/errors.ts';
import { HEADERS, type ReplicaState } from '#shared/protocol.ts';
import type { EngineInfo } from '../engine/types.ts';
import type { EnginePin } from '../ports.ts';
import type { OriginEnv, SignedRequest } from './auth.ts';
import type { OriginDeps } from './deps.ts';
import { engineResponse } from './engine-response.ts';
import { type Endpoint, type MappedRequest, parseJsonBody } from './map-request.ts';
import { createRenderer } from './render.ts';
import { parseDeadline, startRun } from './request-run.ts';
import { toolOffer } from './tool-calls.ts';

/** Maps a request body to the engine's request (map-request.ts). */
export type MapRequest = (raw: Record<string, unknown>, requestId: string) => MappedRequest;

/** Answers one generation request for `endpoint`; throws (ApiError) when it is refused or fails. */
export type GenerationHandler = (c: Context<OriginEnv>, endpoint: Endpoint, map: MapRequest) => Promise<Response>;

/** The generation handler of one app. */
export function generationHandler(deps: OriginDeps): GenerationHandler {
  const pinEngine = deps.pinEngine ?? ((): EnginePin => ({ engine: deps.engine, release: () => {} }));

  return async (c, endpoint, map) => {
    const signed = c.get('signed');
    if (!signed.tenantId) throw new ApiError('invalid_request_error', `Missing ${HEADERS.tenantId} header.`);
    // Never serve what cannot be billed: no run starts (it would need a record) while the usage
    // store fails; the edge fails the request over to another replica.
    if (deps.usageWritable?.() === false) {
      throw new ApiError('storage_unavailable', 'This replica cannot record usage right now (its usage store is failing). Please retry.', { retryAfter: 1 });
    }
    // One engine for the whole request, so its fingerprint and usage name the revision that
    // actually generates it, even when the engines are swapped while it waits for a slot.
    const pinned = pinEngine();
    const info = pinned.engine.info();
    // A malformed deadline is still a request of this tenant: it gets its (error) usage record.
    let deadline: number | undefined;
    let badDeadline: unknown;
    try {
      deadline = parseDeadline(c.req.header(HEADERS.deadline));
    } catch (err) {
      badDeadline = err;
    }
    const run = startRun(deps, usageMeta(signed, deps.replica.replicaId, info, endpoint), c.req.raw.signal, deadline);
    run.holdSlot(pinned.release);
    try {
      if (badDeadline) throw badDeadline;
      if (run.signal.aborted) throw run.signal.reason;
      const mapped = map(parseJsonBody(signed.body), signed.requestId);
      checkServable(mapped, info, deps.lifecycle.state);
      const renderer = createRenderer(endpoint, {
        requestId: signed.requestId,
        created: Math.floor(deps.clock.now() / 1000),
        model: info.model,
        fingerprint: `fp_${info.revision}`,
        includeUsage: mapped.includeUsage,
        logprobs: mapped.logprobs,
        ...(mapped.generate.tools ? { tools: toolOffer(mapped.generate.tools) } : {}),
      });
      run.holdSlot(await deps.admission.acquire(run.signal));
      return await engineResponse(pinned.engine, run, mapped, renderer);
    } catch (err) {
      const e = run.explain(err);
      await run.fail(e);
      throw e;
    }
  };
}

function usageMeta(signed: SignedRequest, replicaId: string, info: EngineInfo, endpoint: Endpoint) {
  return {
    requestId: signed.requestId,
    replicaId,
    tenantId: signed.tenantId.slice(0, 128),
    keyId: signed.keyId.slice(0, 128),
    model: info.model,
    revision: info.revision,
    endpoint,
  };
}

/** Refuse a request for another model, or while the replica is not ready (the edge retries). */
function checkServable(mapped: MappedRequest, info: EngineInfo, state: ReplicaState): void {
  if (mapped.model !== info.model) {
    throw new ApiError('model_not_found', `The model '${mapped.model}' does not exist on this replica (it serves '${info.model}').`, { param: 'model' });
  }
  if (state !== 'ready') {
    throw new ApiError('engine_unavailable', state === 'starting' ? 'The model is still loading.' : 'This replica is draining.', { retryAfter: 1 });
  }
}
