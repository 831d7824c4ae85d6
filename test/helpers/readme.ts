/**
 * The README's command lines, as a reader copies them: every line of its ```sh blocks (lines
 * continued with a trailing backslash joined, trailing `# comments` cut) and its ```ts blocks
 * whole. Tests run them, so the docs cannot drift from the code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/stack/processes.ts';

export interface Readme {
  text: string;
  /** Shell command lines, in order. */
  shell: string[];
  /** TypeScript snippets, in order. */
  typescript: string[];
}

export function readReadme(): Readme {
  const text = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks = (lang: string) => [...text.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\``, 'gm'))].map((m) => m[1]!);
  const shell = blocks('sh')
    .flatMap((b) => b.replace(/\\\n\s*/g, '').split('\n'))
    .map(cutComment)
    .filter((l) => l.length > 0);
  return { text, shell, typescript: blocks('ts') };
}

/** A line without its trailing `# comment` (a `#` inside quotes is not one). */
export function cutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trim();
  }
  return line.trim();
}
