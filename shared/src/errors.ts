/**
 * The one error type of motif-edge and its one mapping to HTTP status and OpenAI error JSON.
 * Every layer (edge, origin, engine, weights) throws `ApiError`; each app has a single `onError`
 * that renders it with `toErrorBody`. Anything that is not an ApiError becomes a 500
 * `internal_error` whose message hides internals.
 */
import { z } from 'zod';

export const ERROR_CODES = {
  invalid_request_error: { status: 400, type: 'invalid_request_error' },
  invalid_json: { status: 400, type: 'invalid_request_error' },
  context_length_exceeded: { status: 400, type: 'invalid_request_error' },
  authentication_error: { status: 401, type: 'authentication_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  invalid_signature: { status: 401, type: 'authentication_error' },
  permission_denied: { status: 403, type: 'permission_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_timeout: { status: 408, type: 'invalid_request_error' },
  conflict: { status: 409, type: 'invalid_request_error' },
  payload_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  expectation_failed: { status: 417, type: 'invalid_request_error' },
  unprocessable_entity: { status: 422, type: 'invalid_request_error' },
  header_fields_too_large: { status: 431, type: 'invalid_request_error' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error' },
  insufficient_quota: { status: 429, type: 'insufficient_quota' },
  client_closed_request: { status: 499, type: 'invalid_request_error' },
  internal_error: { status: 500, type: 'server_error' },
  origin_error: { status: 502, type: 'server_error' },
  origin_unavailable: { status: 503, type: 'server_error' },
  overloaded: { status: 503, type: 'server_error' },
  engine_unavailable: { status: 503, type: 'server_error' },
  storage_unavailable: { status: 503, type: 'server_error' },
  timeout: { status: 504, type: 'server_error' },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ApiErrorOptions {
  param?: string | null;
  /** Seconds; rendered as `retry-after` (429/503). */
  retryAfter?: number;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, opts: ApiErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.param = opts.param ?? null;
    this.retryAfter = opts.retryAfter;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get type(): string {
    return ERROR_CODES[this.code].type;
  }
}

export const ErrorBody = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Anything thrown → the ApiError it means (unknown errors become a generic 500). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof z.ZodError) return fromZodError(err);
  return new ApiError('internal_error', 'The server had an error while processing your request.', { cause: err });
}

/**
 * The issue an error reports: for a union (a string or a list), the issue inside the one option
 * whose type the value had, so a bad list item is named by its path rather than as the whole
 * parameter's "Invalid input".
 */
function reportedIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const typed = issue.errors.filter((option) => option.length > 0 && !option.some((i) => i.code === 'invalid_type' && i.path.length === 0));
  const inner = typed.length === 1 ? typed[0]![0]! : undefined;
  return inner ? reportedIssue({ ...inner, path: [...issue.path, ...inner.path] }) : issue;
}

/** A zod validation failure as a 400 naming the first offending field, like OpenAI does. */
export function fromZodError(err: z.ZodError, code: ErrorCode = 'invalid_request_error'): ApiError {
  const issue = err.issues[0] && reportedIssue(err.issues[0]);
  const param = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : null;
  const message = issue ? `${param ? `Invalid '${param}': ` : ''}${issue.message}` : 'Invalid request.';
  return new ApiError(code, message, { param, cause: err });
}

/** The HTTP rendering of an error: status, OpenAI error JSON and extra headers. */
export function toErrorResponseParts(err: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  const e = toApiError(err);
  const headers: Record<string, string> = {};
  if (e.retryAfter !== undefined) headers['retry-after'] = String(Math.max(0, Math.ceil(e.retryAfter)));
  return {
    status: e.status,
    body: { error: { message: e.message, type: e.type, param: e.param, code: e.code } },
    headers,
  };
}

/** A Response carrying OpenAI error JSON (web-standard; usable from Hono's onError and workers). */
export function errorResponse(err: unknown, extraHeaders: Record<string, string> = {}): Response {
  const { status, body, headers } = toErrorResponseParts(err);
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers, ...extraHeaders },
  });
}

/** Parse an OpenAI-shaped error body coming back from another service (origin → edge). */
export function parseErrorBody(status: number, text: string): ApiError {
  try {
    const body = ErrorBody.parse(JSON.parse(text));
    const code = (body.error.code && body.error.code in ERROR_CODES ? body.error.code : codeForStatus(status)) as ErrorCode;
    return new ApiError(code, body.error.message, { param: body.error.param });
  } catch {
    return new ApiError(codeForStatus(status), `Upstream answered ${status}.`);
  }
}

function codeForStatus(status: number): ErrorCode {
  const hit = (Object.keys(ERROR_CODES) as ErrorCode[]).find((k) => ERROR_CODES[k].status === status);
  return hit ?? (status >= 500 ? 'origin_error' : 'invalid_request_error');
}
