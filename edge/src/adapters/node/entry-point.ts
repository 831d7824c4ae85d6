/**
 * Whether the module at `moduleUrl` is the script Node was started with (`tsx edge/src/node.ts`,
 * a symlinked bin), as opposed to imported by a test or another module: only then does it run
 * its `main()`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function isEntryPoint(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
