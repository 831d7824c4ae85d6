/**
 * Reading request bodies with a size limit: a declared `content-length` over the limit is
 * refused before reading, and a chunked body is counted as it streams, so an oversized body
 * never sits in memory. Bad JSON is a 400 `invalid_json`, never an exception escaping as a 500.
 */
import { ApiError } from '#shared/errors.ts';

/** The raw bytes of a body of at most `maxBytes` (413 otherwise). */
export async function readBodyLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Parse JSON bytes; 400 `invalid_json` when they are not JSON. */
export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError(
      'invalid_json',
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
    );
  }
}

function tooLarge(max: number): ApiError {
  return new ApiError('payload_too_large', `Request body exceeds the limit of ${max} bytes.`);
}
