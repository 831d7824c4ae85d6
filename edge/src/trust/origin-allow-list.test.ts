import { describe, expect, it } from 'vitest';
import { assertOriginAllowed, parseOriginAllowList } from './origin-allow-list.ts';

describe('the default origin allow-list (loopback and private ranges)', () => {
  const list = parseOriginAllowList();

  it.each([
    'http://127.0.0.1:4681',
    'http://localhost:4681',
    'http://10.2.3.4:4681',
    'http://172.31.0.9',
    'https://192.168.1.20',
    'http://[::1]:4681',
    'http://[fd00::5]:4681',
    'http://[::ffff:10.0.0.7]:4681',
  ])('allows %s', (url) => expect(list.allows(url)).toBe(true));

  it.each([
    'http://203.0.113.7:4681',
    'http://169.254.169.254/latest',
    'http://172.32.0.1',
    'http://[::ffff:8.8.8.8]',
    'http://[fe80::1]',
    'https://gpu1.example.com',
    'not a url',
  ])('refuses %s', (url) => expect(list.allows(url)).toBe(false));
});

describe('a configured allow-list', () => {
  const list = parseOriginAllowList('*.gpu.internal, origin.example.com, 203.0.113.0/28');

  it('matches host names exactly or by *.suffix, and IPs by CIDR', () => {
    expect(list.allows('https://node-a.gpu.internal:4681')).toBe(true);
    expect(list.allows('https://ORIGIN.example.com')).toBe(true);
    expect(list.allows('http://203.0.113.15')).toBe(true);
    expect(list.allows('http://203.0.113.16')).toBe(false);
    expect(list.allows('https://gpu.internal')).toBe(false);
    expect(list.allows('https://evil-gpu.internal.attacker.net')).toBe(false);
    expect(list.allows('http://127.0.0.1')).toBe(false);
  });

  it.each(['10.0.0.0/99', 'http://x', '*.', 'bad host'])('refuses the entry %j', (entry) => {
    expect(() => parseOriginAllowList(entry)).toThrow();
  });

  it('refuses credentials in a replica url and names the param', () => {
    expect(() => assertOriginAllowed(list, 'https://u:p@origin.example.com')).toThrow(expect.objectContaining({ param: 'url' }));
    expect(() => assertOriginAllowed(list, 'https://elsewhere.example.com')).toThrow(expect.objectContaining({ status: 403 }));
  });
});
