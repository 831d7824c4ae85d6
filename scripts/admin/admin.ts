import { parseArgs } from 'node:util';
import { isEntryPoint } from '../../edge/src/adapters/node/entry-point.ts';
import { AdminApiError, type AdminClientOptions, adminRequest } from './client.ts';
import { COMMANDS, OPTIONS } from './commands.ts';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:4680';

export interface AdminIo {
  out: (text: string) => void;
  err: (text: string) => void;
  fetch?: AdminClientOptions['fetch'];
}

export function helpText(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  const lines = Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  return `Usage: npm run admin -- <command> [options]

Commands:
${lines.join('\n')}

Environment:
  MOTIF_ADMIN_URL    the edge (default ${DEFAULT_ADMIN_URL})
  MOTIF_ADMIN_TOKEN  the edge's admin token (or an API key with the admin scope)
`;
}

/** Run one CLI invocation; resolves with the exit code. */
export async function runAdmin(argv: string[], env: Record<string, string | undefined>, io: AdminIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${helpText()}`);
    return 2;
  }
  const words = parsed.positionals;
  if (parsed.values.help || words.length === 0) {
    (parsed.values.help ? io.out : io.err)(helpText());
    return parsed.values.help ? 0 : 2;
  }
  const name = COMMANDS[`${words[0]} ${words[1]}`] ? `${words[0]} ${words[1]}` : words[0]!;
  const command = COMMANDS[name];
  if (!command) {
    io.err(`unknown command: ${words.slice(0, 2).join(' ')}\n\n${helpText()}`);
    return 2;
  }
  const args = words.slice(name.split(' ').length);
  if (args.length !== command.args.length) {
    io.err(`usage: npm run admin -- ${command.usage}`);
    return 2;
  }
  const token = env.MOTIF_ADMIN_TOKEN;
  if (!token) {
    io.err("MOTIF_ADMIN_TOKEN is not set: export the edge's admin token (npm start writes it to .data/dev-admin-token)");
    return 2;
  }
  const call = command.build(args, parsed.values);
  try {
    const res = await adminRequest({ baseUrl: env.MOTIF_ADMIN_URL || DEFAULT_ADMIN_URL, token, fetch: io.fetch }, call.method, call.path, call.body);
    io.out(res.contentType.includes('json') ? `${JSON.stringify(JSON.parse(res.text), null, 2)}\n` : res.text);
    return 0;
  } catch (err) {
    if (!(err instanceof AdminApiError)) throw err;
    io.err(`error: ${err.message}\n`);
    return 1;
  }
}

if (isEntryPoint(import.meta.url)) {
  runAdmin(process.argv.slice(2), process.env, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
