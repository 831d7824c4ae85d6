/**
 * The API key format: `mtf_live_` or `mtf_test_`, 32 random base62 characters, then a 6-character
 * base62 CRC32 of everything before it (as GitHub's tokens do). The checksum lets the edge refuse
 * a mistyped or made-up `mtf_` key without touching the store, and lets secret scanners match
 * real keys with few false positives. Older keys (any plausible string, such as the seeded
 * development key) carry no checksum and are only looked up by hash.
 */

export const KEY_MODES = ['live', 'test'] as const;
export type KeyMode = (typeof KEY_MODES)[number];

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 32;
const CHECKSUM_CHARS = 6;
const FORMAT = /^(mtf_(?:live|test)_)([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;
/** Characters of a key shown in listings: the mode prefix and four random characters. */
const VISIBLE_PREFIX = 13;

/** A fresh key secret of the given mode (shown to its owner once, never stored). */
export function generateKey(mode: KeyMode = 'live'): string {
  const prefix = `mtf_${mode}_`;
  let random = '';
  while (random.length < RANDOM_CHARS) {
    // Rejection sampling keeps every character uniformly likely (256 is not a multiple of 62).
    for (const b of crypto.getRandomValues(new Uint8Array(48))) {
      if (b < 248 && random.length < RANDOM_CHARS) random += ALPHABET[b % 62];
    }
  }
  return `${prefix}${random}${checksum(prefix + random)}`;
}

/**
 * How a presented secret should be treated: `checked` (an `mtf_` key whose checksum matches),
 * `legacy` (a plausible key of the older, checksum-free form) or `invalid` (refuse unhashed).
 */
export function classifyKey(secret: string): 'checked' | 'legacy' | 'invalid' {
  if (secret.startsWith('mtf_')) {
    const m = FORMAT.exec(secret);
    return m && checksum(m[1]! + m[2]!) === m[3] ? 'checked' : 'invalid';
  }
  return isPlausibleKey(secret) ? 'legacy' : 'invalid';
}

/** Plausible-looking key text (printable ASCII, sane length); anything else is rejected unhashed. */
export function isPlausibleKey(secret: string): boolean {
  return secret.length >= 16 && secret.length <= 256 && /^[\x21-\x7e]+$/.test(secret);
}

/** The part of a secret shown in listings and logs. */
export function visiblePrefix(secret: string): string {
  return secret.slice(0, secret.startsWith('mtf_') ? VISIBLE_PREFIX : 12);
}

/** A random id of `n` base62 characters (not secret: key ids appear in URLs and logs). */
export function randomId(n: number): string {
  let out = '';
  for (const b of crypto.getRandomValues(new Uint8Array(n * 2))) if (b < 248 && out.length < n) out += ALPHABET[b % 62];
  return out.length === n ? out : out + randomId(n - out.length);
}

function checksum(text: string): string {
  let v = crc32(text);
  let out = '';
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = ALPHABET[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

let table: Uint32Array | undefined;

/** CRC-32 (IEEE) of an ASCII string. */
export function crc32(text: string): number {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = table[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
