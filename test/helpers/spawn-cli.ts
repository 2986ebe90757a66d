import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_PATH } from './cli.js';

/** A long-running `rtprobe …` whose output the test reads while it runs (fault tests). */
export interface SpawnedCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** resolves with the exit code (null when ended by a signal) */
  exited: Promise<number | null>;
  /** the signal that ended it, once it has exited */
  signal(): NodeJS.Signals | null;
}

/** Starts `rtprobe ARGS`; killed with SIGKILL after `killAfterMs` as a last resort. */
export function spawnCli(args: string[], options: { env?: NodeJS.ProcessEnv; killAfterMs?: number } = {}): SpawnedCli {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let endedBy: NodeJS.Signals | null = null;
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 55_000);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => {
    clearTimeout(killer);
    endedBy = signal;
    resolve(code);
  }));
  return { child, stdout: () => stdout, stderr: () => stderr, exited, signal: () => endedBy };
}

/** The last `rcvd N` of the run's status lines on stderr (one a second), 0 before the first. */
export function lastStatusReceived(stderr: string): number {
  const all = [...stderr.matchAll(/ rcvd (\d+) /g)];
  return Number(all.at(-1)?.[1] ?? 0);
}
