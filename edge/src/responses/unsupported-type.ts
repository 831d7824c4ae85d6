/**
 * Error messages for a typed item this server does not support (a hosted tool, an image part, a
 * reasoning item): they name the type the client sent, so the 400 says what to leave out.
 */

/** The `type` of `input` as the message quotes it (cut short: it is the client's text). */
export function typeName(input: unknown): string {
  const type = typeof input === 'object' && input !== null ? (input as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? `'${type.slice(0, 64)}'` : 'untyped';
}

/**
 * A zod error map for a discriminated union of the supported types: `what` names the list's
 * items, `allowed` the types that are supported. Other issues keep zod's message.
 */
export const unsupportedType =
  (what: string, allowed: string) =>
  (iss: { code: string; input?: unknown }): string | undefined =>
    iss.code === 'invalid_union' ? `${typeName(iss.input)} ${what} are not supported by this server: only ${allowed} are.` : undefined;
