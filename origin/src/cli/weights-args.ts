/**
 * Command line of `npm run weights -- <command>` (pure: argv in, a checked command or help text
 * out). Every mistake is a `UsageError` with one line saying what is wrong and the usage to show
 * with it, so the CLI can exit 2 without a stack trace. Options a command does not take are
 * refused rather than ignored: a silently dropped `--store` would sync into the wrong place.
 */
import { parseArgs } from 'node:util';
import { ModelId, RefName, RevisionId } from '../weights/names.ts';
import { WriteMode } from '../weights/sync-options.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

const OPTIONS = {
  from: { type: 'string' },
  model: { type: 'string' },
  ref: { type: 'string' },
  rev: { type: 'string' },
  store: { type: 'string' },
  concurrency: { type: 'string' },
  'part-size-mib': { type: 'string' },
  writes: { type: 'string' },
  'verify-part-mib': { type: 'string' },
  'verify-leaf-kib': { type: 'string' },
  'no-activate': { type: 'boolean' },
  json: { type: 'boolean' },
  keep: { type: 'string' },
  'purge-partial': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  endpoint: { type: 'string' },
  bucket: { type: 'string' },
  port: { type: 'string' },
  's3-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
type OptName = keyof typeof OPTIONS;

const S3_HELP = `  --endpoint <url>       S3 endpoint (default MOTIF_S3_ENDPOINT; unset = the embedded S3 of npm start)
  --bucket <name>        bucket (default MOTIF_S3_BUCKET, else motif-weights)`;
const STORE_HELP = `  --store <dir>          local store (default MOTIF_WEIGHTS_STORE, else $MOTIF_DATA_DIR/origin/weights)`;

interface CommandSpec {
  summary: string;
  options: OptName[];
  /** Takes exactly one <file.tar> argument. */
  file?: true;
  help: string;
}

export const COMMANDS = {
  publish: {
    summary: 'upload a local HF model dir to S3 as a content-addressed revision, then move a ref',
    options: ['from', 'model', 'ref', 'concurrency', 'verify-part-mib', 'verify-leaf-kib', 'json', 'endpoint', 'bucket'],
    help: `publish --from <dir> --model <id> [--ref stable] [--concurrency 4] [--verify-part-mib 16] [--verify-leaf-kib 256] [--json]
  --ref <name>           move this ref to the new revision (none = publish only)
  --verify-part-mib N    part hashes every N MiB, fetched and checked as a sync lands them (0 = whole-file sha256 only)
  --verify-leaf-kib N    each part hash covers the sha256s of N KiB leaves (0 = plain sha256 per part)
${S3_HELP}`,
  },
  sync: {
    summary: 'download a revision from S3 into the local store and make it current',
    options: ['model', 'ref', 'rev', 'store', 'part-size-mib', 'concurrency', 'writes', 'no-activate', 'json', 'endpoint', 'bucket'],
    help: `sync --model <id> [--ref stable | --rev <rev>] [--store <dir>] [--part-size-mib 16] [--concurrency 8] [--writes auto] [--no-activate] [--json]
  --no-activate          download and verify, but leave 'current' where it is
  --part-size-mib N      ranged GET size for files the manifest lists no part hashes for
  --writes MODE          auto (O_DIRECT, the page cache once direct writes make the download wait), direct or page-cache
${STORE_HELP}
${S3_HELP}`,
  },
  ls: {
    summary: 'list models, refs and revisions in S3, and the revisions in the local store',
    options: ['model', 'store', 'endpoint', 'bucket'],
    help: `ls [--model <id>] [--store <dir>]
  --model <id>           only this model (default: every model)
${STORE_HELP}
${S3_HELP}`,
  },
  gc: {
    summary: 'remove store revisions that are not current, kept, or in use by an origin',
    options: ['store', 'keep', 'purge-partial', 'dry-run'],
    help: `gc [--store <dir>] [--keep <rev,...>] [--purge-partial] [--dry-run]
  --purge-partial        also delete interrupted downloads (their resume state)
${STORE_HELP}`,
  },
  export: {
    summary: 'write a revision of the local store to a tar bundle (for nodes without S3)',
    options: ['rev', 'model', 'store'],
    file: true,
    help: `export --rev <rev> [--store <dir>] <file.tar>
  --model <id>           optional: refuse unless the revision is of this model
${STORE_HELP}`,
  },
  import: {
    summary: 'verify a tar bundle and add its revision to the local store',
    options: ['store', 'no-activate'],
    file: true,
    help: `import <file.tar> [--store <dir>] [--no-activate]
${STORE_HELP}`,
  },
  s3: {
    summary: 'serve the embedded S3 in the foreground (what npm start runs)',
    options: ['port', 's3-dir', 'bucket'],
    help: `s3 [--port 4690] [--s3-dir $MOTIF_DATA_DIR/s3] [--bucket motif-weights]
  --port N               default MOTIF_S3_PORT, else 4690 (0 = any free port)`,
  },
} as const satisfies Record<string, CommandSpec>;
export type CommandName = keyof typeof COMMANDS;

const PREFIX = 'usage: npm run weights -- ';

export const USAGE = `${PREFIX}<command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

\`npm run weights -- <command> --help\` shows a command's options.
S3:    MOTIF_S3_ENDPOINT (or --endpoint), MOTIF_S3_BUCKET (or --bucket; default motif-weights), MOTIF_S3_REGION,
       MOTIF_S3_FORCE_PATH_STYLE, MOTIF_S3_RELAXED_CHECKSUMS; credentials by the standard AWS chain.
       Without an endpoint: the embedded S3 of npm start ($MOTIF_DATA_DIR/s3): the running stack's
       server, else served in-process for the one command.
Store: --store, else MOTIF_WEIGHTS_STORE, else $MOTIF_DATA_DIR/origin/weights (what npm start's origin serves).
MOTIF_DATA_DIR defaults to .data, as for npm start.`;

export const commandUsage = (c: CommandName): string => `${PREFIX}${COMMANDS[c].help}`;

export interface WeightsOptions {
  from?: string;
  model?: string;
  ref?: string;
  rev?: string;
  store?: string;
  concurrency?: number;
  partSizeMib?: number;
  writes?: WriteMode;
  /** --verify-part-mib in bytes; null = none (0). */
  verifyPartBytes?: number | null;
  /** --verify-leaf-kib in bytes; null = plain part hashes (0). */
  verifyLeafBytes?: number | null;
  activate: boolean;
  json: boolean;
  keep?: string[];
  purgePartial: boolean;
  dryRun: boolean;
  endpoint?: string;
  bucket?: string;
  port?: number;
  s3Dir?: string;
}

export type WeightsArgs = { kind: 'help'; text: string } | { kind: 'run'; command: CommandName; o: WeightsOptions; file?: string };

const isCommand = (s: string | undefined): s is CommandName => s !== undefined && Object.hasOwn(COMMANDS, s);

/** Parse `argv` (after `npm run weights --`); throws UsageError. */
export function parseWeightsArgs(argv: string[]): WeightsArgs {
  const guess = argv.find((x) => !x.startsWith('-'));
  const usageFor = (c: string | undefined) => (isCommand(c) ? commandUsage(c) : USAGE);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err, guess), usageFor(guess));
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;

  if (command === 'help') {
    if (rest[0] !== undefined && !isCommand(rest[0])) throw new UsageError(`unknown command '${rest[0]}'`, USAGE);
    return { kind: 'help', text: usageFor(rest[0]) };
  }
  if (command === undefined) {
    if (v.help || argv.length === 0) return { kind: 'help', text: USAGE };
    throw new UsageError('no command given', USAGE);
  }
  if (!isCommand(command)) throw new UsageError(`unknown command '${command}'`, USAGE);
  const usage = commandUsage(command);
  if (v.help) return { kind: 'help', text: usage };

  const spec: CommandSpec = COMMANDS[command];
  for (const name of Object.keys(v) as OptName[]) {
    if (!spec.options.includes(name)) throw new UsageError(`'${command}' does not take --${name}`, usage);
  }
  let file: string | undefined;
  if (spec.file) {
    if (rest.length === 0) throw new UsageError(`'${command}' needs a <file.tar>`, usage);
    file = rest.shift();
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' for '${command}'`, usage);

  const fail = (msg: string): never => {
    throw new UsageError(msg, usage);
  };
  const o = toOptions(v, fail);
  if (command === 'publish') {
    if (o.from === undefined) fail("'publish' needs --from <dir>");
    if (o.model === undefined) fail("'publish' needs --model <id>");
  }
  if (command === 'sync') {
    if (o.model === undefined) fail("'sync' needs --model <id>");
    if (o.ref !== undefined && o.rev !== undefined) fail('give --ref or --rev, not both');
  }
  if (command === 'export' && o.rev === undefined) fail("'export' needs --rev <rev> (`npm run weights -- ls` lists the revisions in the store)");
  return file === undefined ? { kind: 'run', command, o } : { kind: 'run', command, o, file };
}

type Values = Partial<Record<OptName, string | boolean>>;

/** Option values → typed options: names, numbers and URLs checked, sizes in bytes. */
function toOptions(v: Values, fail: (msg: string) => never): WeightsOptions {
  const o: WeightsOptions = {
    activate: v['no-activate'] !== true,
    json: v.json === true,
    purgePartial: v['purge-partial'] === true,
    dryRun: v['dry-run'] === true,
  };
  const name = (opt: OptName, schema: typeof ModelId | typeof RefName | typeof RevisionId | typeof WriteMode): string | undefined => {
    const s = v[opt] as string | undefined;
    if (s === undefined) return undefined;
    const r = schema.safeParse(s);
    return r.success ? s : fail(`--${opt} '${s}': ${r.error.issues[0]?.message ?? 'invalid'}`);
  };
  const text = (opt: OptName): string | undefined => {
    const s = v[opt] as string | undefined;
    return s === undefined ? undefined : s !== '' ? s : fail(`--${opt} needs a value`);
  };
  const int = (opt: OptName, min: number, max: number): number | undefined => {
    const s = v[opt] as string | undefined;
    if (s === undefined) return undefined;
    return /^\d+$/.test(s) && Number(s) >= min && Number(s) <= max ? Number(s) : fail(`--${opt} must be a whole number from ${min} to ${max}, got '${s}'`);
  };

  assign(o, 'from', text('from'));
  assign(o, 'model', name('model', ModelId));
  assign(o, 'ref', name('ref', RefName));
  assign(o, 'rev', name('rev', RevisionId));
  assign(o, 'store', text('store'));
  assign(o, 'concurrency', int('concurrency', 1, 64));
  assign(o, 'partSizeMib', int('part-size-mib', 1, 256));
  assign(o, 'writes', name('writes', WriteMode) as WriteMode | undefined);
  const partMib = int('verify-part-mib', 0, 256);
  if (partMib !== undefined) o.verifyPartBytes = partMib === 0 ? null : partMib * 1024 * 1024;
  const leafKib = int('verify-leaf-kib', 0, 256 * 1024);
  if (leafKib !== undefined) {
    if (leafKib % 4 !== 0) fail(`--verify-leaf-kib must be a multiple of 4 (0 = plain part hashes), got '${leafKib}'`);
    o.verifyLeafBytes = leafKib === 0 ? null : leafKib * 1024;
  }
  const keep = text('keep');
  if (keep !== undefined) {
    o.keep = keep
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '')
      .map((r) => (RevisionId.safeParse(r).success ? r : fail(`--keep: '${r}' is not a revision id (16 hex digits)`)));
  }
  const endpoint = text('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) fail(`--endpoint must be an http(s) URL, got '${endpoint}'`);
  assign(o, 'endpoint', endpoint);
  assign(o, 'bucket', text('bucket'));
  assign(o, 'port', int('port', 0, 65535));
  assign(o, 's3Dir', text('s3-dir'));
  return o;
}

function assign<K extends keyof WeightsOptions>(o: WeightsOptions, key: K, value: WeightsOptions[K] | undefined): void {
  if (value !== undefined) o[key] = value;
}

/** node:util parseArgs errors → one short line (its own messages explain the `--` escape at length). */
function parseArgsMessage(err: unknown, command: string | undefined): string {
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  const where = command ? ` for '${command}'` : '';
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (unknown) return `unknown option ${unknown[1]}${where}`;
  const missing = /Option '(-[^ ']+)[^']*' argument missing/.exec(msg);
  if (missing) return `option ${missing[1]} needs a value`;
  const ambiguous = /Option '(-[^ ']+)[^']*' argument is ambiguous/.exec(msg);
  if (ambiguous) return `option ${ambiguous[1]} needs a value (got another option after it)`;
  return msg.split('. ')[0]!.replace(/\.$/, '');
}
