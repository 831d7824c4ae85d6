/**
 * fast-check arbitraries for structurally plausible but wrong requests: a valid body of each
 * endpoint, mutated by a few operations (a field set to a value of the wrong type or out of
 * range, a field removed, an unknown field added, the root replaced), its bytes sometimes
 * corrupted (truncated, invalid UTF-8, CESU-encoded lone surrogates, random bytes), sent with a
 * wrong method, content type, auth header or a flood of extra headers.
 */
import fc from 'fast-check';
import { DeepJson, type FuzzJson, RawJson, toJsonText } from './json-text.ts';

const enc = new TextEncoder();

// --- values -------------------------------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const nastyChar = fc.constantFrom('\u0000', '\u202e', '\ufeff', '\n', '\r', '"', '\\', '\u2028', '😀', '\u0301', 'ß', '\ud83d');

export const weirdString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.oneof(loneSurrogate, nastyChar, fc.string({ maxLength: 2 })), maxLength: 20 }) },
  { weight: 2, arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e400', '0x1F', '', ' 1', 'null', 'true', 'undefined', '[]', '{}', '__proto__') },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 200_000 }).map((n) => 'x'.repeat(n)) },
);

const rawNumber = fc
  .constantFrom('1e400', '-1e400', '1e-400', '-0', '123456789012345678901234567890', '9007199254740993', '1E+2', '-9223372036854775809', '0.1e1')
  .map((t) => new RawJson(t));

const scalar: fc.Arbitrary<FuzzJson> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 1, 2, 3, 0.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e-308),
  rawNumber,
  weirdString,
);

export const deepJson = fc
  .record({ depth: fc.integer({ min: 64, max: 50_000 }), kind: fc.constantFrom('array' as const, 'object' as const) })
  .map(({ depth, kind }) => new DeepJson(depth, kind));

/** Any wrong value: scalars of every type, small containers of them, or very deep nesting. */
export const badValue: fc.Arbitrary<FuzzJson> = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 2, arbitrary: fc.array(scalar, { maxLength: 5 }) },
  { weight: 2, arbitrary: fc.dictionary(weirdString, scalar, { maxKeys: 5 }) },
  { weight: 1, arbitrary: fc.array(fc.dictionary(fc.constantFrom('role', 'content', 'type', 'text', 'name'), scalar, { maxKeys: 3 }), { maxLength: 3 }) },
  { weight: 1, arbitrary: deepJson },
);

// --- bodies ---------------------------------------------------------------------------------

type Path = (string | number)[];

export type Mutation = { op: 'set'; path: Path; value: FuzzJson } | { op: 'delete'; path: Path } | { op: 'root'; value: FuzzJson };

function mutationArb(paths: Path[], opts: { setOnlyNonStrings?: string[] } = {}): fc.Arbitrary<Mutation> {
  const path = fc.oneof(
    fc.constantFrom(...paths),
    weirdString.map((k) => [k] as Path),
  );
  return fc
    .oneof(
      { weight: 8, arbitrary: fc.record({ op: fc.constant('set' as const), path, value: badValue }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), path }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('root' as const), value: badValue }) },
    )
    .filter((m) => {
      if (m.op === 'delete') return true;
      const head = m.op === 'set' ? String(m.path[0]) : '';
      if (m.op === 'set' && opts.setOnlyNonStrings?.includes(head) && typeof m.value === 'string') return false;
      return true;
    });
}

function apply(base: Record<string, FuzzJson>, mutations: Mutation[]): FuzzJson {
  let root: FuzzJson = structuredClone(base);
  for (const m of mutations) {
    if (m.op === 'root') {
      root = m.value;
      continue;
    }
    if (root === null || typeof root !== 'object' || root instanceof RawJson || root instanceof DeepJson) root = {};
    let node = root as Record<string | number, FuzzJson>;
    for (const key of m.path.slice(0, -1)) {
      const next = node[key];
      if (next === null || typeof next !== 'object' || next instanceof RawJson || next instanceof DeepJson) node[key] = {};
      node = node[key] as Record<string | number, FuzzJson>;
    }
    const last = m.path[m.path.length - 1]!;
    if (m.op === 'delete') delete node[last];
    else node[last] = m.value;
  }
  return root;
}

const GENERATION_PATHS: Path[] = [
  ['model'],
  ['max_tokens'],
  ['temperature'],
  ['top_p'],
  ['top_k'],
  ['min_p'],
  ['seed'],
  ['stop'],
  ['stop', 0],
  ['presence_penalty'],
  ['frequency_penalty'],
  ['repetition_penalty'],
  ['n'],
  ['stream'],
  ['stream_options'],
  ['stream_options', 'include_usage'],
  ['user'],
  ['response_format'],
  ['response_format', 'type'],
  ['ignore_eos'],
  ['logit_bias'],
  ['prediction'],
];
const CHAT_PATHS: Path[] = [
  ...GENERATION_PATHS,
  ['messages'],
  ['messages', 0],
  ['messages', 0, 'role'],
  ['messages', 0, 'content'],
  ['messages', 0, 'content', 0],
  ['messages', 0, 'name'],
  ['messages', 1],
  ['max_completion_tokens'],
  ['logprobs'],
  ['top_logprobs'],
  ['tools'],
  ['tool_choice'],
  ['functions'],
  ['audio'],
  ['modalities'],
];
const COMPLETION_PATHS: Path[] = [...GENERATION_PATHS, ['prompt'], ['prompt', 0], ['logprobs'], ['echo'], ['suffix'], ['best_of']];

/** Valid bodies ask for a token or two, so the mutants the schema lets through stay cheap. */
function chatBase(model: string) {
  return fc.record({
    model: fc.constant(model),
    messages: fc.constant([{ role: 'user', content: 'fuzz' }] as FuzzJson),
    max_tokens: fc.integer({ min: 1, max: 2 }),
    stream: fc.boolean(),
  });
}
function completionBase(model: string) {
  return fc.record({ model: fc.constant(model), prompt: fc.constant('fuzz'), max_tokens: fc.integer({ min: 1, max: 2 }), stream: fc.boolean() });
}

export type Corruption =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'random'; bytes: number[] }
  | { kind: 'empty' };

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      // 0xff, overlong NUL, a CESU-encoded lone surrogate, a cut multi-byte sequence, or random bytes.
      bytes: fc.oneof(
        fc.constantFrom<number[]>([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]),
        fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.array(fc.nat(255), { maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
);

export function corrupt(text: string, c: Corruption): Uint8Array {
  const bytes = enc.encode(text);
  switch (c.kind) {
    case 'none':
      return bytes;
    case 'empty':
      return new Uint8Array(0);
    case 'random':
      return Uint8Array.from(c.bytes);
    case 'truncate':
      return bytes.subarray(0, c.at % (bytes.length + 1));
    case 'insert': {
      const at = c.at % (bytes.length + 1);
      return Uint8Array.from([...bytes.subarray(0, at), ...c.bytes, ...bytes.subarray(at)]);
    }
  }
}

export interface BodySpec {
  mutations: Mutation[];
  corruption: Corruption;
  json: FuzzJson;
}

function bodyArb(base: fc.Arbitrary<Record<string, FuzzJson>>, paths: Path[], opts?: Parameters<typeof mutationArb>[1]): fc.Arbitrary<BodySpec> {
  return fc
    .record({ base, mutations: fc.array(mutationArb(paths, opts), { minLength: 0, maxLength: 4 }), corruption })
    .map(({ base: b, mutations, corruption: c }) => ({ mutations, corruption: c, json: apply(b, mutations) }));
}

export const chatBody = (model: string) => bodyArb(chatBase(model), CHAT_PATHS);
export const completionBody = (model: string) => bodyArb(completionBase(model), COMPLETION_PATHS);

/** The bytes of a body spec. */
export function bodyBytes(spec: BodySpec): Uint8Array {
  return corrupt(toJsonText(spec.json), spec.corruption);
}

/**
 * A signed heartbeat that can never route traffic: its replica id (one of the node's, never the
 * real one), its loopback url and its model stay the fuzzer's own.
 */
export function heartbeatBody(nodeId: string, tag: string) {
  const base = fc.constant({
    replica_id: `${nodeId}-fuzz-${tag}`,
    node_id: nodeId,
    url: 'http://127.0.0.1:9/',
    model: `fuzz-model-${tag}`,
    revision: 'r0',
    state: 'ready',
    waiting: 0,
    running: 0,
    max_running: 1,
    kv_usage: 0,
    tokens_per_s: 0,
    ts: Date.now(),
  } as Record<string, FuzzJson>);
  const keys = ['node_id', 'revision', 'state', 'waiting', 'running', 'max_running', 'kv_usage', 'tokens_per_s', 'ts'];
  return bodyArb(base, [...keys.map((k) => [k]), ['replica_id'], ['url'], ['model']], { setOnlyNonStrings: ['replica_id', 'url', 'model'] });
}

/** A signed usage batch for the fuzzer's own tenant, from a replica of the signing node. */
export function usageBatchBody(nodeId: string) {
  const record = {
    request_id: 'fuzz-req',
    replica_id: `${nodeId}-fuzz`,
    tenant_id: 'fuzz-tenant',
    key_id: 'fuzz-key',
    model: 'fuzz-model',
    revision: 'r0',
    endpoint: 'completions',
    prompt_tokens: 1,
    cached_tokens: 0,
    completion_tokens: 1,
    outcome: 'finish',
    started_at: 1,
    finished_at: 2,
  };
  const base = fc.uuid().map((id) => ({ records: [{ ...record, request_id: `fuzz-${id}` }] }) as Record<string, FuzzJson>);
  const fields = Object.keys(record).map((k) => ['records', 0, k] as Path);
  return bodyArb(base, [['records'], ['records', 0], ['records', 1], ...fields], { setOnlyNonStrings: ['tenant_id'] });
}

// --- headers ---------------------------------------------------------------------------------

/** A header value: printable latin1 and tabs (CR/LF would end the header, which is a framing case). */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c === 0x7f ? 0x09 : c)), maxLength: 60 });
const headerName = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&*+.^`|~'.split('')), minLength: 1, maxLength: 20 });

/** Extra headers: usually none, sometimes a few odd ones, sometimes a flood or a huge one. */
export const extraHeaders: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<[string, string][]>([]) },
  { weight: 3, arbitrary: fc.array(fc.tuple(headerName, headerValue), { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 400 }).map((n) => Array.from({ length: n }, (_, i) => [`x-flood-${i}`, 'y'] as [string, string])) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 12_000 }).map((n) => [['x-big', 'z'.repeat(n)]] as [string, string][]) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<[string, string][]>(
      [['x-request-id', 'a'.repeat(500)]],
      [['x-request-id', '../../etc']],
      [['x-tenant-id', 'other']],
      [['x-deadline', '-1']],
      [['x-motif-signature', 't=1,v1=00']],
      [['content-encoding', 'gzip']],
      [['expect', 'something-odd']],
      [['accept', 'text/event-stream']],
    ),
  },
);

export const contentType: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      null,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/octet-stream',
      '*/*',
      '',
      'application/json, text/plain',
    ),
  },
  { weight: 1, arbitrary: headerValue },
);

/** An Authorization header built around a valid secret: mostly right, often wrong in some way. */
export function authHeader(valid: string): fc.Arbitrary<string | null> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant(`Bearer ${valid}`) },
    {
      weight: 4,
      arbitrary: fc.oneof(
        fc.constantFrom(
          null,
          'Bearer',
          'Bearer ',
          `bearer ${valid}`,
          `Bearer  ${valid}  `,
          `Basic ${Buffer.from(`user:${valid}`).toString('base64')}`,
          `Bearer ${valid}x`,
          `Bearer ${valid.slice(0, -1)}`,
          `Bearer ${valid} ${valid}`,
          `Token ${valid}`,
          `Bearer ${'k'.repeat(300)}`,
          `Bearer ${'sk-'.repeat(3000)}`,
        ),
        headerValue.map((v) => `Bearer ${v}`),
        headerValue,
      ),
    },
  );
}

export const oddMethod = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'FOO', 'get', 'PROPFIND', 'M-SEARCH');

/** A query string for /v1/usage: the real parameters with wrong values, unknown ones, repeats, bad escapes. */
export const usageQuery: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom('from', 'to', 'group_by', 'from[]', 'to[0]', ''), weirdString),
      fc.oneof(
        fc.constantFrom('1', '-1', '0', '1e400', 'NaN', 'Infinity', '99999999999999999999999', '0x10', '1.5', 'day', 'key', 'model', 'hour', '', '%zz', '%00'),
        weirdString,
      ),
      fc.boolean(),
    ),
    { maxLength: 5 },
  )
  .map((pairs) =>
    pairs
      .map(([k, v, encode]) => {
        // Unescaped text may hold bytes a request line cannot carry; those stay percent-encoded.
        const raw = (s: string) => (encode || /[^\x21-\x7e]/.test(s) ? encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd')) : s);
        return `${raw(k)}=${raw(v)}`;
      })
      .join('&'),
  );

/** Paths around the real ones: trailing slashes, doubled slashes, dot segments, bad escapes, long. */
export function oddPath(real: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...real) },
    fc.constantFrom(...real).map((p) => `${p}/`),
    fc.constantFrom(...real).map((p) => `/${p}`),
    fc.constantFrom(...real).map((p) => p.toUpperCase()),
    fc.constantFrom(...real).map((p) => p.replace('/v1/', '/v1/../v1/')),
    fc.constantFrom(...real).map((p) => `${p}%00`),
    fc.constantFrom('/v1/%2e%2e/admin/pool', '/v1/models/%ZZ', '/v1/models/%F0%9F%98%80', '/v1/models/..%2f..%2finternal', '/v1', '/', '/v2/models', '*'),
    fc.integer({ min: 1_000, max: 7_000 }).map((n) => `/v1/models/${'a'.repeat(n)}`),
    fc.string({ unit: fc.constantFrom(...'abc/%.-_~!$&()*+,;=:@'.split('')), maxLength: 40 }).map((s) => `/v1/${s}`),
  );
}
