/**
 * Starting the lab's long-lived processes (the two agents, the device model) detached from
 * `lab up`, each with its own log in the state directory, and waiting until each says it is
 * ready.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from './lab-system.js';

/** The rtprobe entry point, run with this node. */
export { RTPROBE_CLI } from '../../shared/cli/build-info.js';

/** Starts `command args` in its own session, output appended to `log`; returns its PID. */
export function spawnDetached(command: string, args: string[], log: string): number | Error {
  const fd = openSync(log, 'a', 0o644);
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => { /* reported through the missing pid below */ });
    child.unref();
    return child.pid ?? new Error(`cannot start ${command}`);
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log, for an error message. */
export function logTail(log: string, lines = 5): string {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls every 100 ms until `ready()` holds, process `pid` ends, or `deadlineMs` passes. */
export async function pollUntilReady(pid: number, ready: () => boolean, deadlineMs: number): Promise<'ready' | 'exited' | 'timeout'> {
  while (Date.now() < deadlineMs) {
    if (ready()) return 'ready';
    if (!isAlive(pid)) return 'exited';
    await sleep(100);
  }
  return 'timeout';
}

/**
 * Polls until `ready()` holds; an Error when the process ends first or time runs out (both
 * quote its log).
 */
export async function waitReady(what: string, pid: number, log: string, ready: () => boolean, timeoutMs: number): Promise<Error | null> {
  const outcome = await pollUntilReady(pid, ready, Date.now() + timeoutMs);
  if (outcome === 'ready') return null;
  return new Error(outcome === 'exited'
    ? `${what} (pid ${pid}) exited before it was ready:\n${logTail(log)}`
    : `${what} (pid ${pid}) not ready after ${timeoutMs / 1000} s:\n${logTail(log)}`);
}

/** An agent is ready once it printed both its UDP and its stream address. */
export function agentReady(log: string): () => boolean {
  return () => {
    try {
      const text = readFileSync(log, 'utf8');
      return /^listening udp /m.test(text) && /^stream ws:\/\//m.test(text);
    } catch {
      return false;
    }
  };
}

/** The device model is ready once its first stats file exists (both TAPs attached). */
export function fileExists(path: string): () => boolean {
  return () => existsSync(path);
}
