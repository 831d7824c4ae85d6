/**
 * The admin CLI's HTTP side: one request to the edge's admin API with the operator's token, and
 * the API's own error message when it refuses (OpenAI error JSON), so the CLI never guesses.
 */

export interface AdminClientOptions {
  /** The edge's base URL, e.g. http://127.0.0.1:4680. */
  baseUrl: string;
  token: string;
  /** How to send requests (tests pass the in-process app). */
  fetch?: (req: Request) => Promise<Response>;
}

/** A refusal from the API (or no answer at all), with the message to print. */
export class AdminApiError extends Error {
  override name = 'AdminApiError';
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface AdminResponse {
  status: number;
  contentType: string;
  text: string;
}

/** Send one admin request; resolves with the body of a 2xx answer, throws AdminApiError otherwise. */
export async function adminRequest(opts: AdminClientOptions, method: string, path: string, body?: unknown): Promise<AdminResponse> {
  const send = opts.fetch ?? ((req: Request) => fetch(req));
  const url = new URL(path, opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`);
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await send(new Request(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  } catch (err) {
    throw new AdminApiError(`cannot reach the edge at ${opts.baseUrl}: ${(err as Error).message} (set MOTIF_ADMIN_URL?)`, null);
  }
  const text = await res.text();
  if (!res.ok) throw new AdminApiError(`${res.status}: ${errorMessage(text) ?? (text.slice(0, 200) || res.statusText)}`, res.status);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
}

function errorMessage(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as { error?: { message?: unknown; param?: unknown } };
    if (typeof v.error?.message !== 'string') return undefined;
    return typeof v.error.param === 'string' && !v.error.message.includes(v.error.param) ? `${v.error.message} (${v.error.param})` : v.error.message;
  } catch {
    return undefined;
  }
}
