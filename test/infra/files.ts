/** Reading the artefacts under infra/ for the infra tests: paths, env files, YAML documents. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');
export const exists = (rel: string): boolean => existsSync(join(ROOT, rel));
export const filesIn = (rel: string, suffix: string): string[] =>
  readdirSync(join(ROOT, rel))
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => `${rel}/${f}`);

/** KEY=value lines as systemd's EnvironmentFile and compose's env_file read them (no quoting used here). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`not KEY=value: ${line}`);
    env[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return env;
}

/** Every YAML document of a file, as plain data; a syntax error (or a duplicate key) throws. */
export function yamlDocuments(rel: string): unknown[] {
  return parseAllDocuments(read(rel), { merge: true, uniqueKeys: true }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${rel}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS({ maxAliasCount: 100 });
  });
}

/** The sections and key=value lines of a systemd unit (repeated keys collected in order). */
export function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const unit: Record<string, Record<string, string[]>> = {};
  let section: Record<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(t);
    if (header) {
      section = unit[header[1]!] = {};
      continue;
    }
    const eq = t.indexOf('=');
    if (!section || eq <= 0) throw new Error(`unit line outside a section or not Key=value: ${line}`);
    const key = t.slice(0, eq);
    (section[key] ??= []).push(t.slice(eq + 1));
  }
  return unit;
}
