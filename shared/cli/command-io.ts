import { parseArgs } from 'node:util';
import { renameSync, writeFileSync } from 'node:fs';

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
/** the run completed but a target never answered */
export const EXIT_FAILED = 1;
/** bad flags, bad address, port in use, missing privilege */
export const EXIT_USAGE = 2;

type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/**
 * Parses a command's flags strictly (unknown flags and missing values are errors that name the
 * flag); `--help` is always accepted.
 */
export function parseFlags<T>(argv: string[], spec: FlagSpec): { help: boolean; flags: T } | Error {
  try {
    const { values, positionals } = parseArgs({
      args: argv, options: { ...spec, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true,
    });
    if (positionals.length > 0) return new Error(`unexpected argument '${positionals[0]}'`);
    const { help, ...flags } = values as Record<string, unknown>;
    return { help: help === true, flags: flags as T };
  } catch (error) {
    return new Error((error as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/** Writes a file whole or not at all (readers never see half a report). */
export function writeFileAtomic(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

export function printUsageError(command: string, error: Error): number {
  process.stderr.write(`rtprobe ${command}: ${error.message}\nTry 'rtprobe ${command} --help'.\n`);
  return EXIT_USAGE;
}
