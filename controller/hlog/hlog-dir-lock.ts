import { hostname } from 'node:os';
import { join } from 'node:path';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { readFileSync, unlinkSync } from 'node:fs';
import { describeFsError } from './hlog-fs-errors.js';

/**
 * One writer per interval-log directory: `soak --hlog DIR` holds `DIR/.rtprobe-soak.lock` for
 * its life. Two soaks on one directory (a restart script that runs the new one before the old
 * one is gone) interleaved their lines and lost intervals. The lock is a file created whole
 * (written aside, then hard-linked into place: it exists with its content or not at all) that
 * names its holder; a holder that is gone (no such process on this host, or the PID now
 * belongs to a process started later) leaves a stale lock that the next soak takes over.
 */
export const HLOG_LOCK_NAME = '.rtprobe-soak.lock';

export interface HlogLockHolder {
  pid: number;
  host: string;
  /** the holder's start time in clock ticks since boot (/proc/PID/stat field 22): tells a reused PID */
  startTicks: number | null;
  /** epoch ms the lock was taken */
  sinceMs: number;
}

export function formatLockHolder(holder: HlogLockHolder): string {
  return `${JSON.stringify({ pid: holder.pid, host: holder.host, start_ticks: holder.startTicks, since_ms: holder.sinceMs })}\n`;
}

/** The holder a lock file names, or null when it is not one of ours (then it is left alone). */
export function parseLockHolder(text: string): HlogLockHolder | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { pid, host, start_ticks: startTicks, since_ms: sinceMs } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0 || typeof host !== 'string' || typeof sinceMs !== 'number') return null;
  if (startTicks !== null && !Number.isSafeInteger(startTicks)) return null;
  return { pid: pid as number, host, startTicks: startTicks as number | null, sinceMs };
}

/** A process's start in clock ticks since boot, null where /proc cannot tell. */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and ')': count fields after its last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** Whether the holder still runs: only a lock of this host can be judged; another host's is live. */
export function holderAlive(holder: HlogLockHolder, thisHost: string): boolean {
  if (holder.host !== thisHost) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists, it is another user's
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const ticks = processStartTicks(holder.pid);
  if (ticks === null) {
    // /proc says the PID is gone, or there is no /proc: trust kill(0)
    return holder.startTicks === null || processStartTicks(process.pid) === null;
  }
  return holder.startTicks === null || ticks === holder.startTicks;
}

export function describeHolder(holder: HlogLockHolder): string {
  return `PID ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`} (since ${new Date(holder.sinceMs).toISOString()})`;
}

export interface HlogDirLock {
  readonly path: string;
  /** what the lock replaced: a stale holder's description, null when the directory was free */
  readonly staleHolder: string | null;
  release(): Promise<void>;
}

const MAX_ATTEMPTS = 3;

async function readHolder(path: string): Promise<HlogLockHolder | null | 'gone'> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : Promise.reject(error)));
  return text === null ? 'gone' : parseLockHolder(text);
}

/**
 * Takes the lock of `dir` (which must exist) for this process, or says who holds it. The lock
 * is removed by release(), and on exit when release() was never reached.
 */
export async function acquireHlogDirLock(dir: string): Promise<HlogDirLock | Error> {
  const path = join(dir, HLOG_LOCK_NAME);
  const me: HlogLockHolder = { pid: process.pid, host: hostname(), startTicks: processStartTicks(process.pid), sinceMs: Date.now() };
  const content = formatLockHolder(me);
  const aside = `${path}.${process.pid}`;
  let staleHolder: string | null = null;
  try {
    await writeFile(aside, content, { flush: true });
    for (let attempt = 0; ; attempt++) {
      try {
        await link(aside, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= MAX_ATTEMPTS) throw error;
      }
      const holder = await readHolder(path);
      if (holder === 'gone') continue;
      if (holder === null) {
        return new Error(`${path} exists and does not name a soak: another program's lock? Remove it if nothing writes to ${dir}`);
      }
      if (holderAlive(holder, me.host)) {
        return new Error(`${dir} is being written by the soak of ${describeHolder(holder)}: one writer per log; stop it first, or log to another directory`);
      }
      // Stale: move it aside (only one taker can), then check it is the one judged dead.
      const moved = `${path}.stale-${process.pid}`;
      const took = await rename(path, moved).then(() => true, (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)));
      if (!took) continue;
      const taken = await readHolder(moved);
      if (taken !== 'gone' && taken !== null && taken.pid === holder.pid && taken.sinceMs === holder.sinceMs) {
        staleHolder = describeHolder(holder);
        await unlink(moved).catch(() => undefined);
        continue;
      }
      // a live lock taken meanwhile by another soak: put it back and give way
      await link(moved, path).catch(() => undefined);
      await unlink(moved).catch(() => undefined);
    }
  } catch (error) {
    return new Error(`cannot lock ${path}: ${describeFsError(error)}`);
  } finally {
    await unlink(aside).catch(() => undefined);
  }
  const releaseSync = (): void => {
    try {
      if (readFileSync(path, 'utf8') === content) unlinkSync(path);
    } catch {
      // gone already, or not ours any more
    }
  };
  process.once('exit', releaseSync);
  return {
    path,
    staleHolder,
    release: async () => {
      process.off('exit', releaseSync);
      releaseSync();
    },
  };
}
