/**
 * The routing benchmark's client: runs a workload plan through the edge with `clients` concurrent
 * users, each taking the next session and playing its turns in order (a turn waits for the
 * previous answer, which joins the history). Every request streams, so time to first token is the
 * first content chunk's arrival; the usage chunk gives prompt and cached tokens.
 */
import { SseParser } from '#shared/sse.ts';
import { type SessionPlan, turnMessages } from './workload.ts';

export interface TurnResult {
  ok: boolean;
  /** ms from sending to the first content token; NaN when none came. */
  ttftMs: number;
  totalMs: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  error?: string;
}

export interface RunTarget {
  edgeUrl: string;
  apiKey: string;
  model: string;
  maxTokens: number;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

/** One streamed chat turn; never throws. */
export async function sendTurn(t: RunTarget, messages: unknown[]): Promise<TurnResult & { text: string }> {
  const start = performance.now();
  const fail = (error: string) => ({
    ok: false,
    ttftMs: Number.NaN,
    totalMs: performance.now() - start,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    error,
    text: '',
  });
  let res: Response;
  try {
    res = await fetch(`${t.edgeUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({ model: t.model, messages, stream: true, stream_options: { include_usage: true }, max_tokens: t.maxTokens, temperature: 0 }),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    return fail(String((err as Error).message));
  }
  if (res.status !== 200) return fail(`HTTP ${res.status}: ${(await res.text().catch(() => '')).slice(0, 200)}`);
  let ttftMs = Number.NaN;
  let text = '';
  let usage: Usage | undefined;
  let error: string | undefined;
  const parser = new SseParser();
  const dec = new TextDecoder();
  try {
    for await (const chunk of res.body!) {
      for (const ev of parser.push(dec.decode(chunk as Uint8Array, { stream: true }))) {
        if (ev.event === 'error') error = ev.data.slice(0, 200);
        if (ev.data === '[DONE]' || ev.event === 'error') continue;
        const c = JSON.parse(ev.data) as { choices: { delta?: { content?: string } }[]; usage?: Usage | null };
        const piece = c.choices[0]?.delta?.content;
        if (piece) {
          if (Number.isNaN(ttftMs)) ttftMs = performance.now() - start;
          text += piece;
        }
        if (c.usage) usage = c.usage;
      }
    }
  } catch (err) {
    error = String((err as Error).message);
  }
  const totalMs = performance.now() - start;
  if (error || !usage) return { ...fail(error ?? 'no usage chunk'), ttftMs, totalMs, text };
  return {
    ok: true,
    ttftMs,
    totalMs,
    promptTokens: usage.prompt_tokens,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    completionTokens: usage.completion_tokens,
    text,
  };
}

/**
 * Play every session of the plan with `clients` concurrent users; the results in completion order.
 * The users arrive over `rampMs` (evenly), as users of a running service do, not all in the same
 * millisecond.
 */
export async function runPlan(t: RunTarget, plan: readonly SessionPlan[], clients: number, rampMs = 0): Promise<TurnResult[]> {
  const results: TurnResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      if (rampMs > 0) await new Promise((r) => setTimeout(r, (c * rampMs) / clients));
      for (let s = next++; s < plan.length; s = next++) {
        const session = plan[s]!;
        const answers: string[] = [];
        for (let turn = 0; turn < session.userTurns.length; turn++) {
          const { text, ...r } = await sendTurn(t, turnMessages(session, turn, answers));
          results.push(r);
          answers.push(text);
        }
      }
    }),
  );
  return results;
}
