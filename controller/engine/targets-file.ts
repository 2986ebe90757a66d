/**
 * `--targets-file FILE`: many targets without a command line as long as the list. One target a
 * line, as --target writes it (`[NAME=]HOST[:PORT]`, `icmp://HOST`, `udp://HOST:PORT`); `#` starts
 * a comment, blank lines are skipped. The file is read once, at start.
 */
import { readFileSync } from 'node:fs';

export interface TargetLine {
  /** 1-based, for messages */
  line: number;
  text: string;
}

/** The target texts of a targets file, each with its line number (pure). */
export function parseTargetsFileText(text: string): TargetLine[] {
  const targets: TargetLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const hash = raw.indexOf('#');
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (content !== '') targets.push({ line: index + 1, text: content });
  });
  return targets;
}

/** A bound that keeps the per-target state (histograms, probe rings) within reason. */
export const MAX_TARGETS = 10_000;
const MAX_FILE_BYTES = 4 << 20;

export function readTargetsFile(path: string): TargetLine[] | Error {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_FILE_BYTES) return new Error(`--targets-file: ${path} is larger than ${MAX_FILE_BYTES >> 20} MiB`);
    text = bytes.toString('utf8');
  } catch (error) {
    return new Error(`--targets-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const targets = parseTargetsFileText(text);
  if (targets.length === 0) return new Error(`--targets-file: ${path} names no target`);
  return targets;
}
