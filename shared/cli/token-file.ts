import { readFileSync, statSync } from 'node:fs';

/** A secret's file: its first line, trimmed; at least 16 printable characters, at most 4 KiB. `noun` names it in errors. */
function readSecretLine(flag: string, path: string, noun: 'token' | 'key'): string | Error {
  let text: string;
  try {
    if (statSync(path).size > 4096) return new Error(`${flag}: ${path} is larger than 4 KiB; it should hold one ${noun}`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return new Error(`${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const secret = (text.split('\n')[0] ?? '').trim();
  if (secret.length < 16) return new Error(`${flag}: the ${noun} in ${path} is shorter than 16 characters`);
  if (!/^[\x21-\x7e]+$/.test(secret)) return new Error(`${flag}: the ${noun} in ${path} must be printable ASCII without spaces`);
  return secret;
}

/** Reads a bearer token: the file's first line, trimmed; at least 16 characters, at most 4 KiB. */
export function readTokenFile(flag: string, path: string): string | Error {
  return readSecretLine(flag, path, 'token');
}

/**
 * Reads a --key-file: the same format as a token file (first line, >= 16 printable
 * characters, e.g. `openssl rand -hex 32 > rtprobe.key`); the key is those bytes. Both sides
 * must be given the same file.
 */
export function readKeyFile(flag: string, path: string): Buffer | Error {
  const key = readSecretLine(flag, path, 'key');
  return key instanceof Error ? key : Buffer.from(key, 'utf8');
}
