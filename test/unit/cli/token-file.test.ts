import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readKeyFile, readTokenFile } from '../../../shared/cli/token-file.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('token and key files', () => {
  it('read the first line, trimmed; a key is its bytes', () => {
    const file = join(dir, 'good');
    writeFileSync(file, '  0123456789abcdef0123  \nsecond line\n');
    expect(readTokenFile('--token-file', file)).toBe('0123456789abcdef0123');
    expect(readKeyFile('--key-file', file)).toEqual(Buffer.from('0123456789abcdef0123'));
  });

  it('name the key as a key, and leave a path that says "token" as it is', () => {
    const tokens = join(dir, 'token-store');
    mkdirSync(tokens);
    const short = join(tokens, 'short');
    writeFileSync(short, 'too-short\n');
    expect((readKeyFile('--key-file', short) as Error).message).toBe(`--key-file: the key in ${short} is shorter than 16 characters`);
    expect((readTokenFile('--token-file', short) as Error).message).toBe(`--token-file: the token in ${short} is shorter than 16 characters`);
    const missing = join(tokens, 'missing');
    expect((readKeyFile('--key-file', missing) as Error).message).toBe(`--key-file: cannot read ${missing} (ENOENT)`);
    const big = join(tokens, 'big');
    writeFileSync(big, 'x'.repeat(5000));
    expect((readKeyFile('--key-file', big) as Error).message).toBe(`--key-file: ${big} is larger than 4 KiB; it should hold one key`);
    const spaced = join(tokens, 'spaced');
    writeFileSync(spaced, 'has a space in it, long enough\n');
    expect((readKeyFile('--key-file', spaced) as Error).message).toMatch(/the key in .* must be printable ASCII without spaces/);
  });
});
