/**
 * The port to a checkpoint directory: what the weights loader reads through. The Node adapter
 * (adapters/node/engine/checkpoint-dir.ts) reads a local directory; the in-memory one here serves
 * tests and tools. Kept apart from weights.ts so the fused-weights reader can use it too.
 */
import type { RandomAccessFile } from './safetensors.ts';
import { memoryFile } from './safetensors.ts';

/** A file opened for positional reads that must be closed. */
export interface OpenedFile extends RandomAccessFile {
  close(): Promise<void>;
}

/** The port to a checkpoint directory (Node file system, memory, …). Paths are relative. */
export interface CheckpointSource {
  /** Text of a small file, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>;
  /** Open a file for positional reads; rejects when it does not exist. */
  open(path: string): Promise<OpenedFile>;
}

/** The in-memory adapter of CheckpointSource: file path → text or bytes (tests, tools). */
export function memoryCheckpoint(files: Readonly<Record<string, string | Uint8Array>>): CheckpointSource {
  const has = (path: string) => Object.hasOwn(files, path);
  return {
    async readText(path) {
      if (!has(path)) return undefined;
      const f = files[path]!;
      return typeof f === 'string' ? f : new TextDecoder().decode(f);
    },
    async open(path) {
      if (!has(path)) throw new Error(`${path} does not exist`);
      const f = files[path]!;
      return { ...memoryFile(path, typeof f === 'string' ? new TextEncoder().encode(f) : f), close: async () => {} };
    },
  };
}
