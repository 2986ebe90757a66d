import { readFileSync, statSync } from 'node:fs';

/** Reads a bearer token: the file's first line, trimmed; at least 16 characters, at most 4 KiB. */
export function readTokenFile(flag: string, path: string): string | Error {
  let text: string;
  try {
    if (statSync(path).size > 4096) return new Error(`${flag}: ${path} is larger than 4 KiB; it should hold one token`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return new Error(`${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const token = (text.split('\n')[0] ?? '').trim();
  if (token.length < 16) return new Error(`${flag}: the token in ${path} is shorter than 16 characters`);
  if (!/^[\x21-\x7e]+$/.test(token)) return new Error(`${flag}: the token in ${path} must be printable ASCII without spaces`);
  return token;
}

/**
 * Reads a --key-file: the same format as a token file (first line, >= 16 printable
 * characters, e.g. `openssl rand -hex 32 > rtprobe.key`); the key is those bytes. Both sides
 * must be given the same file.
 */
export function readKeyFile(flag: string, path: string): Buffer | Error {
  const text = readTokenFile(flag, path);
  return text instanceof Error ? new Error(text.message.replace('token', 'key')) : Buffer.from(text, 'utf8');
}
