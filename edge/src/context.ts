/**
 * The Hono environment of the edge app: what middleware puts into the context for later
 * handlers. Kept in one place so every route agrees on the names.
 */
import type { Principal } from './ports.ts';

export type EdgeEnv = {
  Variables: {
    /** The id echoed to the client (theirs if sane, else generated). */
    requestId: string;
    /** The id the edge assigns for the origin and the ledger; unique per request. */
    upstreamRequestId: string;
    principal: Principal;
    /** The exact bytes of a verified signed internal request. */
    signedBody: Uint8Array;
    /** The key id that signed it (a node key: see trust/node-keys.ts). */
    signedBy: string;
  };
};
