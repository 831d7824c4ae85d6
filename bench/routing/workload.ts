/**
 * The routing benchmark's workloads, as plans of sessions (pure: same options → same plan).
 *
 * - `shared`: many multi-turn chat sessions. Each opens with one of a few system prompts that
 *   many sessions share (an app's instructions) and grows its history turn by turn: every turn
 *   sends the whole conversation so far, the model's earlier answers included, plus a new user
 *   message. A replica that served a session's previous turn holds all but the new message in
 *   its prefix cache; one that did not holds at most the system prompt.
 * - `unique`: the same number of requests and the same prompt sizes, but nothing shared: every
 *   request is a one-turn session with a system prompt of its own. Routing can only balance load.
 */

import { createPrng } from '../../origin/src/engine/native/sampling/prng.ts';

export type WorkloadName = 'shared' | 'unique';

export interface WorkloadOptions {
  sessions: number;
  turns: number;
  /** Distinct system prompts the sessions share (shared workload). */
  systemPrompts: number;
  systemBytes: number;
  userBytes: number;
  seed: number;
}

export interface SessionPlan {
  id: string;
  system: string;
  /** The user messages, one per turn; the assistant's answers come from the replies. */
  userTurns: string[];
}

/**
 * Agentic sessions, the use Motif 2.6B is pitched for: an app's instructions (2 KB, four apps
 * share them), then eight turns that each bring 4 KB of new context (a tool's output, a retrieved
 * document) and a short answer, ~9k tokens by the last turn (within the long-context variant's
 * 16k). 64 sessions hold ~4× the prefix cache of one replica: no replica can keep every
 * conversation, which is what routing is for. Shorter histories gain less from affinity; the
 * flags (`--user-bytes`, `--turns`) measure that too.
 */
export const DEFAULT_WORKLOAD: WorkloadOptions = { sessions: 64, turns: 8, systemPrompts: 4, systemBytes: 2048, userBytes: 4096, seed: 7 };

const WORDS = (
  'the a of to and in is it you that he was for on are with as his they be at one have this from or had by word but what some we can out other were all ' +
  'there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him ' +
  'two has look more day could go come did number sound no most people my over know water than call first who may down side been now find any new work part'
).split(' ');

/** About `bytes` bytes of words (ASCII), starting with `label` so two texts never share a prefix by chance. */
export function text(label: string, bytes: number, random: () => number): string {
  let out = `${label}:`;
  while (out.length < bytes) out += ` ${WORDS[Math.floor(random() * WORDS.length)]}`;
  return out.slice(0, Math.max(bytes, label.length + 1));
}

/** The sessions of a workload, in the order clients take them. */
export function planWorkload(name: WorkloadName, o: WorkloadOptions): SessionPlan[] {
  // The plan must not change between runs or profiles: one seeded generator (the engine's own).
  const prng = createPrng(o.seed);
  const random = () => prng.next();
  if (name === 'shared') {
    const systems = Array.from({ length: o.systemPrompts }, (_, i) => text(`system ${i}`, o.systemBytes, random));
    return Array.from({ length: o.sessions }, (_, s) => ({
      id: `s${s}`,
      system: systems[s % systems.length]!,
      userTurns: Array.from({ length: o.turns }, (_, t) => text(`session ${s} turn ${t}`, o.userBytes, random)),
    }));
  }
  // As many requests as the shared plan, each alone, with the prompt the shared plan's turn of the
  // same index would send (system + history) made of fresh text.
  const historyBytes = (t: number) => t * (o.userBytes + 4 * 32);
  const out: SessionPlan[] = [];
  for (let s = 0; s < o.sessions; s++) {
    for (let t = 0; t < o.turns; t++) {
      out.push({
        id: `u${s}-${t}`,
        system: text(`system u${s}-${t}`, o.systemBytes + historyBytes(t), random),
        userTurns: [text(`user u${s}-${t}`, o.userBytes, random)],
      });
    }
  }
  return out;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The messages of turn `t` of a session, given the answers of its earlier turns. */
export function turnMessages(plan: SessionPlan, t: number, answers: readonly string[]): ChatMessage[] {
  const msgs: ChatMessage[] = [{ role: 'system', content: plan.system }];
  for (let i = 0; i < t; i++) msgs.push({ role: 'user', content: plan.userTurns[i]! }, { role: 'assistant', content: answers[i] ?? '' });
  msgs.push({ role: 'user', content: plan.userTurns[t]! });
  return msgs;
}
