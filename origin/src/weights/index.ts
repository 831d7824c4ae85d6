/** Weights from S3 (DESIGN §6): the API the origin and the CLI use. */
export type { ObjectStore, ObjectHead } from './object-store.ts';
export { publishModel, type PublishInput, type PublishResult, type PublishProgress } from './publish.ts';
export { syncModel, type SyncInput, type SyncResult, type SyncProgress } from './sync.ts';
export { openLocalSnapshot, type LocalSnapshot } from './local-snapshot.ts';
export { resolveRef, fetchManifest, writeRef, listRemote, type RemoteListing } from './refs.ts';
export { gcStore, listLocal, type GcOptions, type GcResult } from './gc.ts';
export { watchRef, type WatchInput, type RefWatcher } from './watch.ts';
export { acquireLease, type Lease } from './store-lock.ts';
export { storeLayout } from './store.ts';
export { createMemoryObjectStore } from './memory-object-store.ts';
