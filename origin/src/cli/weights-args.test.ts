import { describe, expect, it } from 'vitest';
import { commandUsage, parseWeightsArgs, USAGE, UsageError } from './weights-args.ts';

const REV = '5569b2fc198f7d6f';

/** The UsageError `argv` raises (fails the test if it parses). */
function usageError(argv: string[]): UsageError {
  try {
    parseWeightsArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
}

describe('weights command line', () => {
  it.each([[[]], [['--help']], [['-h']], [['help']]])('%j prints the overall usage', (argv) => {
    expect(parseWeightsArgs(argv)).toEqual({ kind: 'help', text: USAGE });
  });

  it.each([[['sync', '--help']], [['sync', '-h']], [['help', 'sync']], [['--help', 'sync']], [['sync', '--model', 'm', '-h']]])(
    '%j prints the usage of sync',
    (argv) => {
      expect(parseWeightsArgs(argv)).toEqual({ kind: 'help', text: commandUsage('sync') });
    },
  );

  it('refuses an unknown option even beside --help (no silent help for a typo)', () => {
    expect(usageError(['sync', '--bogus', '-h']).message).toBe("unknown option --bogus for 'sync'");
    expect(usageError(['sync', '--model', 'm', '--writes', 'o_direct']).message).toBe(
      `--writes 'o_direct': Invalid option: expected one of "auto"|"direct"|"page-cache"`,
    );
  });

  it('lists every command in the usage, and each command usage starts with its synopsis', () => {
    for (const c of ['publish', 'sync', 'ls', 'gc', 'export', 'import', 's3'] as const) {
      expect(USAGE).toContain(`  ${c} `);
      expect(commandUsage(c).startsWith(`usage: npm run weights -- ${c}`)).toBe(true);
    }
  });

  it('parses the README command lines', () => {
    expect(parseWeightsArgs(['publish', '--from', '/m', '--model', 'motif-2.6b', '--ref', 'stable'])).toEqual({
      kind: 'run',
      command: 'publish',
      o: expect.objectContaining({ from: '/m', model: 'motif-2.6b', ref: 'stable', activate: true, json: false }),
    });
    expect(parseWeightsArgs(['sync', '--model', 'motif-2.6b', '--ref', 'stable'])).toMatchObject({
      command: 'sync',
      o: { model: 'motif-2.6b', ref: 'stable' },
    });
    expect(parseWeightsArgs(['ls'])).toMatchObject({ command: 'ls', o: {} });
    expect(parseWeightsArgs(['gc'])).toMatchObject({ command: 'gc', o: { dryRun: false, purgePartial: false } });
    expect(parseWeightsArgs(['export', '--rev', REV, 'out.tar'])).toEqual({
      kind: 'run',
      command: 'export',
      o: expect.objectContaining({ rev: REV }),
      file: 'out.tar',
    });
    expect(parseWeightsArgs(['import', 'out.tar'])).toMatchObject({ command: 'import', file: 'out.tar', o: { activate: true } });
  });

  it('converts sizes and lists', () => {
    const r = parseWeightsArgs(['publish', '--from', 'd', '--model', 'm', '--verify-part-mib', '0', '--verify-leaf-kib', '64', '--concurrency', '8']);
    expect(r).toMatchObject({ o: { verifyPartBytes: null, verifyLeafBytes: 64 * 1024, concurrency: 8 } });
    expect(parseWeightsArgs(['gc', '--keep', `${REV}, 0123456789abcdef`, '--dry-run'])).toMatchObject({ o: { keep: [REV, '0123456789abcdef'], dryRun: true } });
    expect(parseWeightsArgs(['sync', '--model', 'Org/Name', '--rev', REV, '--no-activate', '--part-size-mib', '8', '--writes', 'page-cache'])).toMatchObject({
      o: { model: 'Org/Name', rev: REV, activate: false, partSizeMib: 8, writes: 'page-cache' },
    });
  });

  it.each([
    [['bogus'], "unknown command 'bogus'", USAGE],
    [['help', 'bogus'], "unknown command 'bogus'", USAGE],
    [['--model', 'm'], 'no command given', USAGE],
    [['sync', '--bogus'], "unknown option --bogus for 'sync'", commandUsage('sync')],
    [['--bogus'], 'unknown option --bogus', USAGE],
    [['sync', '--model'], 'option --model needs a value', commandUsage('sync')],
    [['sync', '--model', '--ref', 'x'], 'option --model needs a value (got another option after it)', commandUsage('sync')],
    [['sync', '--json=yes', '--model', 'm'], "Option '--json' does not take an argument", commandUsage('sync')],
    [['gc', '--model', 'm'], "'gc' does not take --model", commandUsage('gc')],
    [['ls', 'extra'], "unexpected argument 'extra' for 'ls'", commandUsage('ls')],
    [['export', '--rev', REV], "'export' needs a <file.tar>", commandUsage('export')],
    [['export', 'out.tar'], "'export' needs --rev <rev> (`npm run weights -- ls` lists the revisions in the store)", commandUsage('export')],
    [['import', 'a.tar', 'b.tar'], "unexpected argument 'b.tar' for 'import'", commandUsage('import')],
    [['publish', '--model', 'm'], "'publish' needs --from <dir>", commandUsage('publish')],
    [['sync'], "'sync' needs --model <id>", commandUsage('sync')],
    [['sync', '--model', 'm', '--ref', 'a', '--rev', REV], 'give --ref or --rev, not both', commandUsage('sync')],
    [['sync', '--model', 'a/b/c'], "--model 'a/b/c': model ids look like motif-2.6b or Org/Name", commandUsage('sync')],
    [['export', '--rev', 'HEAD', 'x.tar'], "--rev 'HEAD': revision ids are 16 lower-case hex digits", commandUsage('export')],
    [['sync', '--model', 'm', '--concurrency', 'lots'], "--concurrency must be a whole number from 1 to 64, got 'lots'", commandUsage('sync')],
    [['sync', '--model', 'm', '--concurrency', '0'], "--concurrency must be a whole number from 1 to 64, got '0'", commandUsage('sync')],
    [
      ['publish', '--from', 'd', '--model', 'm', '--verify-leaf-kib', '6'],
      "--verify-leaf-kib must be a multiple of 4 (0 = plain part hashes), got '6'",
      commandUsage('publish'),
    ],
    [['gc', '--keep', 'abc'], "--keep: 'abc' is not a revision id (16 hex digits)", commandUsage('gc')],
    [['ls', '--endpoint', 'localhost:9000'], "--endpoint must be an http(s) URL, got 'localhost:9000'", commandUsage('ls')],
    [['s3', '--port', '70000'], "--port must be a whole number from 0 to 65535, got '70000'", commandUsage('s3')],
  ])('%j → "%s" with the usage', (argv, message, usage) => {
    const e = usageError(argv);
    expect(e.message).toBe(message);
    expect(e.message).not.toContain('\n');
    expect(e.usage).toBe(usage);
  });
});
