/**
 * The container images (infra/appliance/images/*.Dockerfile), parsed with dockerfile-ast: every
 * base image pinned (an exact version tag or a digest, or a build argument the build must supply),
 * every file they copy present in the build context, every command they run present.
 */
import { type Dockerfile, DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { exists, filesIn, read } from './files.ts';

const DOCKERFILES = filesIn('infra/appliance/images', '.Dockerfile');
const parse = (rel: string): Dockerfile => DockerfileParser.parse(read(rel));
const dockerignore = read('.dockerignore')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));

/** Why a FROM line is not pinned, or undefined when it is. */
function unpinned(df: Dockerfile, index: number): string | undefined {
  const from = df.getFROMs()[index]!;
  const image = from.getImage() ?? '';
  const stages = df
    .getFROMs()
    .slice(0, index)
    .map((f) => f.getBuildStage());
  if (stages.includes(image)) return undefined;
  const variable = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(image)?.[1];
  if (variable) {
    const arg = df.getInitialARGs().find((a) => a.getProperty()?.getName() === variable);
    if (!arg) return `${image}: no ARG ${variable} before the first FROM`;
    // A default would build an unpinned image whenever the caller forgets the argument.
    if (arg.getProperty()?.getValue()) return `${image}: ARG ${variable} has a default; the build must supply it`;
    return undefined;
  }
  if (from.getImageDigest()) return undefined;
  const tag = from.getImageTag();
  if (!tag || tag === 'latest') return `${image}: no tag or latest`;
  if (!/\d+\.\d+\.\d+/.test(tag)) return `${image}: tag ${tag} is not an exact version`;
  return undefined;
}

describe.each(DOCKERFILES)('%s', (file) => {
  const df = parse(file);

  it('parses, with a FROM first and every base image pinned', () => {
    expect(df.getInstructions()[0]?.getKeyword()).toMatch(/^(FROM|ARG)$/);
    expect(df.getFROMs().length).toBeGreaterThan(0);
    const problems = df
      .getFROMs()
      .map((_, i) => unpinned(df, i))
      .filter(Boolean);
    expect(problems).toEqual([]);
  });

  it('runs Node 24 (the current LTS) wherever it takes Node from the official image', () => {
    for (const from of df.getFROMs()) if (from.getImageName() === 'node') expect(from.getImageTag()).toMatch(/^24\.\d+\.\d+-/);
  });

  it('copies only files that exist in the build context and are not ignored', () => {
    for (const copy of df.getCOPYs()) {
      if (copy.getFromFlag()) continue;
      const args = copy.getArguments().map((a) => a.getValue());
      for (const source of args.slice(0, -1)) {
        expect(exists(source), `${file}: COPY ${source}`).toBe(true);
        expect(dockerignore, `${file}: COPY ${source} is excluded by .dockerignore`).not.toContain(source);
      }
    }
  });

  it('starts a script that exists', () => {
    const cmd = df.getCMDs().at(-1);
    const script = cmd
      ?.getArguments()
      .map((a) => a.getValue().replace(/[[\]",]/g, ''))
      .find((a) => a.endsWith('.ts'));
    expect(script, `${file}: CMD`).toBeDefined();
    expect(exists(script!), script).toBe(true);
  });
});

describe('the images', () => {
  it('are the edge, the native origin and the vLLM origin', () => {
    expect(DOCKERFILES).toEqual([
      'infra/appliance/images/edge.Dockerfile',
      'infra/appliance/images/origin-vllm.Dockerfile',
      'infra/appliance/images/origin.Dockerfile',
    ]);
  });

  it('take the vLLM base from a build argument (the recipe in infra/engines/vllm/ names the image)', () => {
    const df = parse('infra/appliance/images/origin-vllm.Dockerfile');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, as written in the file
    expect(df.getFROMs().at(-1)?.getImage()).toBe('${VLLM_BASE_IMAGE}');
    expect(read('infra/appliance/images/origin-vllm.Dockerfile')).toContain('MOTIF_ENGINE=vllm');
  });

  it('the pin check refuses what it should (latest, a bare tag, a defaulted base argument)', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile text
    for (const text of ['FROM node:latest', 'FROM node:24-slim', 'FROM node', 'ARG BASE=node:24\nFROM ${BASE}']) {
      expect(unpinned(DockerfileParser.parse(text), 0), text).toBeDefined();
    }
    expect(unpinned(DockerfileParser.parse('FROM node@sha256:0123456789abcdef'), 0)).toBeUndefined();
  });
});
