import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Whether a file can be created (or written) in `dir`: a real write, so read-only mounts show too. */
function probeWritableDir(dir: string): string | null {
  const probe = join(dir, `.rtprobe-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
    return null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
}

/**
 * Checks, before the first probe, that an output file (--json FILE, --html FILE, --events
 * FILE) can be written: a bad path is exit 2 now, not after a 16-hour run. Nothing is created.
 */
export function checkOutputFile(flag: string, path: string): Error | null {
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return new Error(`${flag}: '${path}' is a directory; give a file name`);
    closeSync(openSync(path, 'r+'));
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return new Error(`${flag}: cannot write '${path}' (${code ?? (error as Error).message})`);
  }
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) return new Error(`${flag}: '${dir}' is not a directory`);
  } catch (error) {
    return new Error(`${flag}: the directory '${dir}' does not exist (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const failure = probeWritableDir(dir);
  return failure === null ? null : new Error(`${flag}: cannot create files in '${dir}' (${failure})`);
}

/** An output directory (--hgrm DIR): created when missing, and checked writable, before any work. */
export function prepareOutputDir(flag: string, dir: string): Error | null {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    return new Error(`${flag}: cannot create the directory '${dir}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!statSync(dir).isDirectory()) return new Error(`${flag}: '${dir}' is not a directory`);
  const failure = probeWritableDir(dir);
  return failure === null ? null : new Error(`${flag}: cannot create files in '${dir}' (${failure})`);
}
