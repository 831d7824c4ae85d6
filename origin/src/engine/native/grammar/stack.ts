/** The stack frames of the JSON recognizer: what every frame implements, and byte classes. */

/** One frame of a stack: consumes bytes, pushing successor stacks. */
export interface Frame {
  /** Feed byte `b` with `rest` under this frame; successors go to `out`. */
  feed(b: number, rest: Stack, out: Stack[]): void;
  /** The value may end here with no closing byte (a number, a literal that is a prefix of another). */
  readonly canEnd: boolean;
  readonly key: string;
}

/** An immutable stack of frames; `key` identifies it within one grammar. */
export interface Stack {
  readonly top: Frame;
  readonly rest: Stack | null;
  readonly depth: number;
  key?: string;
}

export const push = (top: Frame, rest: Stack): Stack => ({ top, rest, depth: rest.depth + 1 });

export const Q = 0x22; // "
export const BS = 0x5c; // \
export const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
export const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
