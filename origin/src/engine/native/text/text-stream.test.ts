import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TextStream } from './text-stream.ts';
import { MotifTokenizer } from './tokenizer.ts';

const FIXTURE = fileURLToPath(new URL('../../../../../test/fixtures/tiny-motif/', import.meta.url));
const tokenizer = new MotifTokenizer({
  tokenizerJson: JSON.parse(readFileSync(`${FIXTURE}tokenizer.json`, 'utf8')),
  tokenizerConfig: JSON.parse(readFileSync(`${FIXTURE}tokenizer_config.json`, 'utf8')),
});
const enc = new TextEncoder();

/** Stream `chunks` (byte arrays) and collect every emitted piece. */
function run(chunks: Uint8Array[], stop: string[] = [], cleanUpSpaces = false) {
  const s = new TextStream({ stop, cleanUpSpaces });
  const pieces: string[] = [];
  let stopped = false;
  for (const c of chunks) {
    const r = s.push(c);
    pieces.push(r.text);
    if (r.stopped) {
      stopped = true;
      break;
    }
  }
  if (!stopped) {
    const r = s.end();
    pieces.push(r.text);
    stopped = r.stopped;
  }
  return { pieces, text: pieces.join(''), stopped };
}

/** Split a string's UTF-8 into single bytes: the worst case for a byte-level tokenizer. */
const bytewise = (text: string) => [...enc.encode(text)].map((b) => Uint8Array.of(b));

describe('TextStream UTF-8', () => {
  it.each([
    ['Korean', '안녕하세요, 세계!'],
    ['emoji with modifiers and flags', '🤖❤️👍🏽 🇰🇷'],
    ['math letters (4-byte)', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'],
  ])('%s split into single bytes never yields U+FFFD', (_name, text) => {
    const { pieces, text: out } = run(bytewise(text));
    expect(out).toBe(text);
    for (const p of pieces) expect(p).not.toContain('\uFFFD');
  });

  it('streams the fixture tokenization of Korean/emoji text exactly', () => {
    const text = '안녕하세요! 🤖❤️ café';
    const ids = tokenizer.encode(text);
    const { pieces, text: out } = run(ids.map((id) => tokenizer.tokenBytes(id)));
    expect(out).toBe(text);
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    // Some tokens carry only part of a character: they must emit nothing yet.
    expect(pieces.filter((p) => p === '').length).toBeGreaterThan(0);
  });

  it('renders bytes that never complete as U+FFFD at the end, like a full decode', () => {
    const ids = [251, 301, 206, 322]; // golden continuation with invalid UTF-8
    expect(run(ids.map((id) => tokenizer.tokenBytes(id))).text).toBe(tokenizer.decode(ids));
    expect(run([Uint8Array.of(0xf0, 0x9f)]).text).toBe('\uFFFD');
  });
});

describe('TextStream stop strings', () => {
  const chunks = (...parts: string[]) => parts.map((p) => enc.encode(p));

  it.each([
    { name: 'inside one chunk', parts: ['Hello STOP world'], stop: ['STOP'], text: 'Hello ' },
    { name: 'across chunk boundaries', parts: ['Hel', 'lo S', 'TO', 'P world'], stop: ['STOP'], text: 'Hello ' },
    { name: 'earliest of several stops wins', parts: ['a', 'b##c', '@@d'], stop: ['@@', '##'], text: 'ab' },
    { name: 'false start is released', parts: ['a ST', 'x ', 'STO'], stop: ['STOP'], text: 'a STx STO', stopped: false },
    { name: 'stop at the very beginning', parts: ['\n\nUser:'], stop: ['\n\n'], text: '' },
    { name: 'overlapping prefix', parts: ['aa', 'ab'], stop: ['aab'], text: 'a' },
    { name: 'multibyte stop split across bytes', parts: ['좋', '아요', '!'], stop: ['아요'], text: '좋' },
  ])('$name', ({ parts, stop, text, stopped = true }) => {
    const r = run(chunks(...parts), stop);
    expect(r.text).toBe(text);
    expect(r.stopped).toBe(stopped);
  });

  it('never emits a partial stop string before the stop is confirmed', () => {
    const stop = 'END!';
    const s = new TextStream({ stop: [stop], cleanUpSpaces: false });
    const seen: string[] = [];
    for (const c of bytewise('xx EN')) seen.push(s.push(c).text);
    expect(seen.join('')).toBe('xx ');
    for (const c of bytewise('D!tail')) seen.push(s.push(c).text);
    expect(seen.join('')).toBe('xx ');
    expect(s.stopped).toBe(true);
  });

  it('works on stop strings split over byte-level tokens of the fixture', () => {
    const text = "It's 2025, isn't it?\nYes";
    const ids = tokenizer.encode(text);
    const r = run(
      ids.map((id) => tokenizer.tokenBytes(id)),
      ["isn't"],
    );
    expect(r.text).toBe("It's 2025, ");
    expect(r.stopped).toBe(true);
  });
});

describe('TextStream space cleanup', () => {
  it('gives the same text as a whole decode regardless of chunking', () => {
    const text = "I do n't know , it 's fine ! ok ?";
    const expected = "I don't know, it's fine! ok?";
    expect(run(bytewise(text), [], true).text).toBe(expected);
    expect(run([enc.encode(text)], [], true).text).toBe(expected);
  });
});
