import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  acquireHlogDirLock, formatLockHolder, HLOG_LOCK_NAME, parseLockHolder, processStartTicks,
} from '../../../controller/hlog/hlog-dir-lock.js';

const root = mkdtempSync(join(tmpdir(), 'hlog-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => mkdtempSync(join(root, `d${n++}-`));

/** The PID of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('hlog directory lock', () => {
  it('is taken whole, names this process, refuses a second taker by PID, and is gone after release', async () => {
    const dir = freshDir();
    const lock = await acquireHlogDirLock(dir);
    if (lock instanceof Error) throw lock;
    const holder = parseLockHolder(readFileSync(join(dir, HLOG_LOCK_NAME), 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), startTicks: processStartTicks(process.pid) });
    const second = await acquireHlogDirLock(dir);
    expect(second).toBeInstanceOf(Error);
    expect(String(second)).toContain(`is being written by the soak of PID ${process.pid} (since `);
    await lock.release();
    expect(existsSync(join(dir, HLOG_LOCK_NAME))).toBe(false);
    const again = await acquireHlogDirLock(dir);
    if (again instanceof Error) throw again;
    expect(again.staleHolder).toBeNull();
    await again.release();
  });

  it('takes over the lock of a process that is gone, and of a PID reused by a later process', async () => {
    for (const stale of [
      { pid: deadPid(), host: hostname(), startTicks: 12345, sinceMs: 1 },
      { pid: process.pid, host: hostname(), startTicks: (processStartTicks(process.pid) ?? 0) - 1, sinceMs: 2 },
    ]) {
      const dir = freshDir();
      writeFileSync(join(dir, HLOG_LOCK_NAME), formatLockHolder(stale));
      const lock = await acquireHlogDirLock(dir);
      if (lock instanceof Error) throw lock;
      expect(lock.staleHolder).toContain(`PID ${stale.pid}`);
      expect(parseLockHolder(readFileSync(lock.path, 'utf8'))?.pid).toBe(process.pid);
      await lock.release();
    }
  });

  it("leaves another host's lock and a file that is not a soak's lock alone", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, HLOG_LOCK_NAME), formatLockHolder({ pid: deadPid(), host: 'elsewhere', startTicks: null, sinceMs: 0 }));
    expect(String(await acquireHlogDirLock(dir))).toMatch(/soak of PID \d+ on elsewhere/);
    writeFileSync(join(dir, HLOG_LOCK_NAME), 'something else\n');
    expect(String(await acquireHlogDirLock(dir))).toMatch(/does not name a soak/);
    expect(readFileSync(join(dir, HLOG_LOCK_NAME), 'utf8')).toBe('something else\n');
  });

  it('reads only well-formed holders', () => {
    expect(parseLockHolder('{"pid":0,"host":"h","start_ticks":null,"since_ms":0}')).toBeNull();
    expect(parseLockHolder('{"pid":12,"host":"h","start_ticks":1.5,"since_ms":0}')).toBeNull();
    expect(parseLockHolder('[]')).toBeNull();
    expect(parseLockHolder('{"pid":12,"host":"h","start_ticks":7,"since_ms":3}')).toEqual({ pid: 12, host: 'h', startTicks: 7, sinceMs: 3 });
  });

  it('says why when the directory cannot hold a lock', async () => {
    expect(String(await acquireHlogDirLock(join(root, 'missing', 'deeper')))).toMatch(/cannot lock .*no such file or directory \(ENOENT\)/);
  });
});
