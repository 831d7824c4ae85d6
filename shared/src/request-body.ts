/**
 * Reading request bodies with a size limit: a declared `content-length` over the limit is
 * refused before reading, and a chunked body is counted as it streams, so an oversized body
 * never sits in memory. Bad JSON is a 400 `invalid_json`, and JSON nested deeper than
 * `MAX_JSON_DEPTH` a 400 naming the field: never an exception escaping as a 500.
 */

import { concatBytes } from '#shared/bytes.ts';
import { ApiError } from '#shared/errors.ts';

/** The raw bytes of a body of at most `maxBytes` (413 otherwise). */
export async function readBodyLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  // A declared length within the limit bounds the body (HTTP servers refuse more bytes than
  // declared), so it is read in one call, which runtimes serve without a web stream (the Node
  // adapter reads the socket directly). Without a length, the stream is counted as it arrives.
  if (declared !== null && /^\d+$/.test(declared)) return new Uint8Array(await req.arrayBuffer());
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
  return concatBytes(parts);
}

/**
 * The deepest nesting a request body may have (the top-level object is level 1). Generous for
 * any real request (a strict `json_schema` nests a few levels per schema level), yet far below
 * what the recursive code downstream survives: `JSON.stringify` of the forwarded body and zod
 * overflow the stack past a few thousand levels, and a 2 MiB body can nest a million deep.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Parse JSON bytes (strict UTF-8); 400 `invalid_json` when they are not JSON, 400 naming the
 * top-level field when the text nests deeper than `maxDepth`.
 */
export function parseJson(bytes: Uint8Array, maxDepth: number = MAX_JSON_DEPTH): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalidJson();
  }
  // Before JSON.parse: parsing a million nested arrays alone takes a second of CPU.
  checkDepth(text, maxDepth);
  try {
    return JSON.parse(text);
  } catch {
    throw invalidJson();
  }
}

/**
 * Refuses text whose brackets nest deeper than `maxDepth`, in one pass over the characters
 * (strings skipped), so the check allocates nothing and cannot overflow the stack. The field
 * named is the last top-level key seen: everything deeper than level 1 sits in its value.
 */
function checkDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let stringStart = 0;
  let stringEnd = 0;
  let keyStart = -1;
  let keyEnd = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      stringStart = i;
      stringEnd = closingQuote(text, i) + 1;
      i = stringEnd - 1;
    } else if (c === COLON) {
      if (depth === 1) {
        keyStart = stringStart;
        keyEnd = stringEnd;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) throw tooDeep(keyStart < 0 ? null : text.slice(keyStart, keyEnd), maxDepth);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
}

/**
 * The index of the quote closing the string that opens at `open` (the text's end when it does not
 * close: JSON.parse refuses that). Jumps quote to quote with indexOf; a quote preceded by an odd
 * run of backslashes is escaped. Each backslash is counted at most once, so this stays linear.
 */
function closingQuote(text: string, open: number): number {
  for (let from = open + 1; ; ) {
    const q = text.indexOf('"', from);
    if (q === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q;
    from = q + 1;
  }
}

const [QUOTE, BACKSLASH, COLON] = [0x22, 0x5c, 0x3a];
const [OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET] = [0x7b, 0x7d, 0x5b, 0x5d];

function tooDeep(keyJson: string | null, maxDepth: number): ApiError {
  let field: string | null = null;
  if (keyJson !== null) {
    try {
      field = String(JSON.parse(keyJson));
    } catch {
      // A malformed key: the refusal names no field.
    }
  }
  const where = field === null ? 'The request body' : `Invalid '${field}':`;
  return new ApiError('invalid_request_error', `${where} JSON is nested more than ${maxDepth} levels deep.`, { param: field });
}

function invalidJson(): ApiError {
  return new ApiError(
    'invalid_json',
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
  );
}

function tooLarge(max: number): ApiError {
  return new ApiError('payload_too_large', `Request body exceeds the limit of ${max} bytes.`);
}
