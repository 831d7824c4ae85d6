/**
 * TypeScript and Python snippets for the tokenizer corpus (original code written for this
 * project; it is training text, never executed). No backticks or dollar-brace sequences, because
 * the text lives inside a template literal.
 */
export const CODE = String.raw`import { z } from 'zod';

export const Shift = z.object({
  id: z.string().uuid(),
  nurseId: z.string(),
  start: z.number().int(),
  end: z.number().int(),
});
export type Shift = z.infer<typeof Shift>;

interface ShiftEvent {
  kind: 'added' | 'cancelled' | 'swapped';
  at: number;
  shift: Shift;
}

/** Replays the event log and returns the schedule as it stands now. */
export function replay(events: readonly ShiftEvent[]): Map<string, Shift> {
  const schedule = new Map<string, Shift>();
  for (const e of events) {
    switch (e.kind) {
      case 'added':
      case 'swapped':
        schedule.set(e.shift.id, e.shift);
        break;
      case 'cancelled':
        schedule.delete(e.shift.id);
        break;
    }
  }
  return schedule;
}

export async function fetchJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { signal, headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error('request failed with status ' + res.status);
  return (await res.json()) as T;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]): number => (xs.length === 0 ? 0 : sum(xs) / xs.length);

class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(private readonly capacity: number) {
    if (capacity <= 0) throw new RangeError('capacity must be positive');
    this.items = new Array(capacity);
  }

  push(item: T): void {
    this.items[(this.head + this.size) % this.capacity] = item;
    if (this.size < this.capacity) this.size++;
    else this.head = (this.head + 1) % this.capacity;
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.head + i) % this.capacity] as T);
    return out;
  }
}

for (let i = 0; i < 10; i += 2) {
  console.log(i, i * i, mean([i, i + 1, i + 2]));
}

import math
from dataclasses import dataclass
from typing import Iterable


@dataclass
class Reading:
    sensor: str
    value: float
    unit: str = "C"


def rms(values: Iterable[float]) -> float:
    """Root mean square of the values; 0.0 for an empty input."""
    values = list(values)
    if not values:
        return 0.0
    return math.sqrt(sum(v * v for v in values) / len(values))


def softmax(logits: list[float], temperature: float = 1.0) -> list[float]:
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    scaled = [x / temperature for x in logits]
    top = max(scaled)
    exps = [math.exp(x - top) for x in scaled]
    total = sum(exps)
    return [e / total for e in exps]


class Counter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def most_common(self, k: int = 3) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


if __name__ == "__main__":
    readings = [Reading("a", 21.5), Reading("b", 19.0), Reading("c", 22.25)]
    print(f"rms = {rms(r.value for r in readings):.3f}")
    print(softmax([1.0, 2.0, 3.0], temperature=0.5))
    c = Counter()
    for word in "the cat and the hat and the bat".split():
        c.add(word)
    print(c.most_common(2))
    with open("out.txt", "w", encoding="utf-8") as fh:
        fh.write("done\n")
`;
