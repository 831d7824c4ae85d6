/**
 * Just enough POSIX tar (ustar + pax) for offline weight bundles (pure). Writes regular files
 * only; a pax extended header carries names over 100 bytes and sizes of 8 GiB and more (model
 * shards get there). Reads what it writes plus directories, which it skips.
 */

export const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;
const enc = new TextEncoder();

/** Header block(s) for a regular file: a pax header first when ustar fields cannot hold it. */
export function fileHeader(name: string, size: number, mtimeSec: number): Uint8Array {
  const nameBytes = enc.encode(name);
  const needsPax = nameBytes.length > 100 || size > MAX_OCTAL_SIZE;
  if (!needsPax) return ustar(name, size, mtimeSec, '0');
  const records = paxRecord('path', name) + (size > MAX_OCTAL_SIZE ? paxRecord('size', String(size)) : '');
  const body = enc.encode(records);
  const paxHeader = ustar('PaxHeader', body.length, mtimeSec, 'x');
  const shortName = `motif-long-name-${mtimeSec}`;
  return concat([paxHeader, body, new Uint8Array(padding(body.length)), ustar(shortName, Math.min(size, MAX_OCTAL_SIZE), mtimeSec, '0')]);
}

/** Zero bytes needed after `size` bytes of data to reach the next block. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The end-of-archive marker: two zero blocks. */
export const END = new Uint8Array(2 * BLOCK);

export interface TarEntry {
  name: string;
  size: number;
  /** '0' file, '5' dir, 'x' pax header, 'g' global pax, … */
  type: string;
}

/** Decode one header block; null for a zero block (end of archive). Throws on a bad checksum. */
export function decodeHeader(block: Uint8Array): TarEntry | null {
  if (block.length !== BLOCK) throw new Error('short tar header');
  if (block.every((b) => b === 0)) return null;
  const stored = parseOctal(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  if (sum !== stored) throw new Error(`tar header checksum mismatch (${sum} != ${stored})`);
  const name = cstr(block.subarray(0, 100));
  const prefix = cstr(block.subarray(345, 500));
  const type = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
  return { name: prefix ? `${prefix}/${name}` : name, size: parseOctal(block.subarray(124, 136)), type };
}

/** Records of a pax extended header body (`len key=value\n` …). */
export function parsePax(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const dec = new TextDecoder();
  let i = 0;
  // Lengths count bytes (names may be UTF-8); each record states its own, so stop on anything
  // malformed rather than loop.
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    const len = sp < 0 ? Number.NaN : Number(dec.decode(body.subarray(i, sp)));
    if (!Number.isInteger(len) || len <= 0 || i + len > body.length) break;
    const rec = dec.decode(body.subarray(sp + 1, i + len - 1));
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

function paxRecord(key: string, value: string): string {
  const payload = ` ${key}=${value}\n`;
  const payloadLen = enc.encode(payload).length;
  // The length prefix counts its own digits.
  let len = payloadLen + 1;
  while (String(len).length + payloadLen !== len) len = String(len).length + payloadLen;
  return `${len}${payload}`;
}

function ustar(name: string, size: number, mtimeSec: number, type: string): Uint8Array {
  const b = new Uint8Array(BLOCK);
  write(b, 0, 100, name);
  write(b, 100, 8, '0000644');
  write(b, 108, 8, '0000000');
  write(b, 116, 8, '0000000');
  write(b, 124, 12, size.toString(8).padStart(11, '0'));
  write(b, 136, 12, Math.max(0, Math.floor(mtimeSec)).toString(8).padStart(11, '0'));
  b.fill(32, 148, 156);
  b[156] = type.charCodeAt(0);
  write(b, 257, 6, 'ustar');
  write(b, 263, 2, '00');
  let sum = 0;
  for (const x of b) sum += x;
  write(b, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return b;
}

function write(b: Uint8Array, off: number, len: number, s: string): void {
  b.set(enc.encode(s).subarray(0, len), off);
}

function cstr(b: Uint8Array): string {
  const z = b.indexOf(0);
  return new TextDecoder().decode(z < 0 ? b : b.subarray(0, z));
}

function parseOctal(b: Uint8Array): number {
  const s = cstr(b).trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
