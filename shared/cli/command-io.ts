import { parseArgs } from 'node:util';

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
/** the run completed but a target never answered */
export const EXIT_FAILED = 1;
/** bad flags, bad address, port in use, missing privilege */
export const EXIT_USAGE = 2;
// 3 is left to "the agent breakdown asked for (--agent-ws) is missing" (issue 16).
/** the run completed but broke a --max-rtt, --max-p99 or --max-loss limit: the verdict is FAIL */
export const EXIT_VERDICT_FAILED = 4;

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/**
 * Parses a command's flags strictly (unknown flags and missing values are errors that name the
 * flag); `--help` is always accepted.
 */
export function parseFlags<T>(argv: string[], spec: FlagSpec): { help: boolean; flags: T } | Error {
  try {
    const { values, positionals } = parseArgs({
      args: normalizeArgv(argv, spec), options: { ...spec, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true,
    });
    if (positionals.length > 0) return new Error(`unexpected argument '${positionals[0]}'`);
    const { help, ...flags } = values as Record<string, unknown>;
    return { help: help === true, flags: flags as T };
  } catch (error) {
    return new Error((error as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/**
 * `--rate -5` reads as two options to util.parseArgs ("ambiguous"): a negative number after a
 * flag that takes a value is that flag's value, so its parser can say what is wrong with it.
 */
export function joinNegativeValues(argv: readonly string[], spec: FlagSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    const name = /^--([^=]+)$/.exec(arg)?.[1];
    if (name !== undefined && spec[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * `--json` without a value (last, or before another flag) is `--json -`, standard output: what
 * `report --json` and `lab status --json` always meant, now the same in every command.
 */
function bareJsonToStdout(argv: readonly string[], spec: FlagSpec): string[] {
  if (spec.json?.type !== 'string') return [...argv];
  return argv.map((arg, i) => (arg === '--json' && (i === argv.length - 1 || argv[i + 1]?.startsWith('--')) ? '--json=-' : arg));
}

/** What util.parseArgs gets: bare --json and negative values made unambiguous. */
export function normalizeArgv(argv: readonly string[], spec: FlagSpec): string[] {
  return joinNegativeValues(bareJsonToStdout(argv, spec), spec);
}

export function printUsageError(command: string, error: Error): number {
  process.stderr.write(`rtprobe ${command}: ${error.message}\nTry 'rtprobe ${command} --help'.\n`);
  return EXIT_USAGE;
}
