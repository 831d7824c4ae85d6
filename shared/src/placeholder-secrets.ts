/**
 * Secrets nobody may run production with: the built-in development defaults and the placeholders
 * of the example env files (`change-me…`). Edge and origin config both refuse them unless
 * `MOTIF_DEV=1`, so a copied example file or a forgotten dev default stops the process at start
 * instead of serving behind a secret that is published in this repository.
 */

/** The edge's development keyring (edge → origin), used when MOTIF_ORIGIN_SECRET is unset and MOTIF_DEV=1. */
export const DEV_ORIGIN_SECRET = 'dev:motif-dev-origin-secret-do-not-use-in-production';
/** The edge's development node keys (node `local`, as `npm start` names it). */
export const DEV_NODE_KEYS = 'devnode:motif-dev-node-secret-do-not-use-in-production@local';
/** The API key `npm start` seeds for tenant `dev` unless told otherwise. */
export const DEV_API_KEY = 'sk-motif-dev-local-0123456789abcdef';

/** Known values refused outright (compared without case). */
const KNOWN_VALUES = [DEV_ORIGIN_SECRET, DEV_NODE_KEYS, DEV_API_KEY];

/**
 * Fragments that mark a placeholder wherever they appear in a value (so `k1:change-me-to-a-long-
 * random-secret` is caught whatever its key id). Compared without case.
 */
export const PLACEHOLDER_MARKERS = ['do-not-use-in-production', 'change-me', 'changeme', 'replace-me', 'replaceme', 'your-secret-here'];

/**
 * Environment variables that hold secrets: MOTIF_* names ending in SECRET, TOKEN, KEY, KEYS,
 * PEPPER or PASSWORD (present and future ones alike), and the S3 secret key.
 */
export function isSecretVariable(name: string): boolean {
  if (name === 'AWS_SECRET_ACCESS_KEY') return true;
  return name.startsWith('MOTIF_') && /_(SECRET|TOKEN|KEY|KEYS|PEPPER|PASSWORD)$/.test(name);
}

/** Why `value` is not a real secret, or undefined when it may be one. */
export function placeholderReason(value: string): string | undefined {
  const lower = value.toLowerCase();
  if (KNOWN_VALUES.some((v) => v.toLowerCase() === lower)) return 'is a built-in development default';
  const marker = PLACEHOLDER_MARKERS.find((m) => lower.includes(m));
  return marker === undefined ? undefined : `contains the placeholder '${marker}'`;
}

/**
 * One problem line per secret variable of `env` holding a development default or a placeholder
 * (none when `dev` is set: development runs may use them). Values are never echoed.
 */
export function placeholderSecretProblems(env: Record<string, string | undefined>, dev: boolean): string[] {
  if (dev) return [];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '' || !isSecretVariable(name)) continue;
    const reason = placeholderReason(value);
    if (reason) problems.push(`  ${name}: ${reason}; set a real secret (or MOTIF_DEV=1 for development)`);
  }
  return problems.sort();
}
