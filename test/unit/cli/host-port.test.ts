import { describe, it, expect } from 'vitest';
import { parseHostPort } from '../../../shared/cli/host-port.js';

function expectFlagError(result: unknown, flag: string, fragment?: string): void {
  expect(result).toBeInstanceOf(Error);
  if (!(result instanceof Error)) return;
  expect(result.message).toContain(flag);
  if (fragment !== undefined) expect(result.message).toContain(fragment);
}

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:9000', { host: '127.0.0.1', port: 9000 }],
    ['127.0.0.1', { host: '127.0.0.1', port: 7707 }],
    ['guest.example:1', { host: 'guest.example', port: 1 }],
    ['localhost', { host: 'localhost', port: 7707 }],
    ['[::1]:7707', { host: '::1', port: 7707 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['[::1]', { host: '::1', port: 7707 }],
    ['::1', { host: '::1', port: 7707 }],
    ['fe80::1', { host: 'fe80::1', port: 7707 }],
    ['[2001:db8::2]:65535', { host: '2001:db8::2', port: 65535 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
  ])('%s', (text, expected) => {
    expect(parseHostPort('--target', text, 7707)).toEqual(expected);
  });

  it('host:port:x is ambiguous', () => {
    expectFlagError(parseHostPort('--target', 'host:7707:x', 7707), '--target', 'ambiguous');
    expectFlagError(parseHostPort('--target', '::1:7707x', 7707), '--target', 'ambiguous');
  });

  it('port 70000 and other bad ports are rejected naming the flag', () => {
    expectFlagError(parseHostPort('--target', '127.0.0.1:70000', 7707), '--target');
    expectFlagError(parseHostPort('--target', '[::1]:70000', 7707), '--target');
    expectFlagError(parseHostPort('--target', '127.0.0.1:', 7707), '--target');
    expectFlagError(parseHostPort('--target', '127.0.0.1:http', 7707), '--target');
    expectFlagError(parseHostPort('--listen', '[::1]:', 7707), '--listen');
  });

  it('a missing or invalid host is rejected naming the flag', () => {
    for (const text of ['', ':7707', 'a b:7707', 'a/b', ' host']) {
      expectFlagError(parseHostPort('--listen', text, 7707), '--listen');
    }
  });

  it('brackets must hold an IPv6 address', () => {
    expectFlagError(parseHostPort('--target', '[127.0.0.1]:7707', 7707), '--target', 'IPv6');
    expectFlagError(parseHostPort('--target', '[localhost]', 7707), '--target', 'IPv6');
  });
});
