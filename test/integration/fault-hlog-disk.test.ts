/**
 * Fault: the soak's interval log directory fills up or cannot be written. README ("Long
 * soaks"): a log write that fails (disk full, read-only) ends the soak cleanly with its report
 * and exit 2, and what was written stays readable; a bad --hlog fails at start with exit 2.
 *
 * As root, permission bits do not stop writes, so the faults are real file systems: a tmpfs
 * of three pages (12 KiB: the soak's lock file takes one) this test mounts for "disk full", a
 * read-only tmpfs (or one remounted read-only) for "unwritable", and a path under a regular
 * file (ENOTDIR, no root needed).
 * Everything mounted is unmounted in finally.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startAgent } from '../helpers/cli.js';
import { skipNote } from '../helpers/skip.js';
import { spawnCli } from '../helpers/spawn-cli.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-fault-disk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;
const STACK_TRACE = /^\s+at .+:\d+:\d+\)?$/m;

function mount(target: string, options: string): void {
  mkdirSync(target, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'rtprobe-fault', target], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function unmount(target: string): void {
  try { execFileSync('umount', [target], { stdio: 'ignore' }); } catch { /* not mounted */ }
}

function canMountTmpfs(): string | null {
  if (!isRoot) return 'mounting a tmpfs needs root';
  const probe = join(dir, 'probe');
  try {
    mount(probe, 'size=4k');
    return null;
  } catch (error) {
    return `cannot mount a tmpfs here: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    unmount(probe);
  }
}

const skipReason = canMountTmpfs();

interface LogFacts { text: string; completed: number }

function readLog(logDir: string): LogFacts {
  const name = existsSync(logDir) ? readdirSync(logDir).find((f) => f.endsWith('.hlog')) : undefined;
  const text = name === undefined ? '' : readFileSync(join(logDir, name), 'utf8');
  return { text, completed: (text.match(/^#\[rtprobe-interval: /gm) ?? []).length };
}

/** `rtprobe report DIR --json` reads the log: no malformed line, the rtt intervals it holds. */
async function expectReadable(logDir: string, minRttIntervals: number): Promise<void> {
  const report = await runCli(['report', logDir, '--json']);
  expect(report.code, report.stderr).toBe(0);
  const parsed = JSON.parse(report.stdout);
  expect(parsed.malformed).toEqual(Object.fromEntries(Object.keys(parsed.malformed as object).map((k) => [k, 0])));
  const rtt = (parsed.series as { tag: string; intervals: number; values_ns: { count: number } }[]).find((s) => s.tag === 'rtt');
  expect(rtt?.intervals).toBeGreaterThanOrEqual(minRttIntervals);
  expect(rtt?.values_ns.count).toBeGreaterThan(0);
}

describe.skipIf(skipReason !== null)(`fault: the interval log file system fills up or is read-only (root; tmpfs mounted here)${skipNote(skipReason)}`, () => {
  it('disk full mid-soak: a clear message, the report, exit 2, no stack trace; what was written stays readable', async () => {
    const mnt = join(dir, 'full');
    // four pages: one for the soak's lock, one for rtprobe-provenance.json beside the log, two
    // for the log: at 500 Hz (about 1.9 KB an interval with 1 ns resolution) its fourth or fifth
    // interval no longer fits
    mount(mnt, 'size=16k');
    const agent = await startAgent();
    const logs = join(mnt, 'logs');
    const soak = spawnCli(['soak', '--target', `g=127.0.0.1:${agent.port}`, '--rate', '500', '--interval', '1s',
      '--hlog', logs, '--json', '-', '--quiet']);
    try {
      await waitFor(() => readLog(logs).completed >= 2, { what: '2 completed intervals', timeoutMs: 20_000 });
      const before = readLog(logs);
      // The soak stops itself when a write fails: no signal from here.
      const code = await soak.exited;
      expect(code, soak.stderr()).toBe(2);
      expect(soak.signal()).toBeNull();
      expect(soak.stderr()).toMatch(/rtprobe soak: --hlog: cannot write to interval log .*\.hlog: disk full \(ENOSPC\); the intervals written before are intact/);
      expect(soak.stderr()).not.toMatch(STACK_TRACE);
      // the soak's own report is complete JSON: the measurement is not lost with the log
      const report = JSON.parse(soak.stdout());
      expect(report.targets[0].received).toBeGreaterThan(before.completed * 400);
      expect(report.soak.hlog.files).toHaveLength(1);
      // what was on disk before it filled is still there, byte for byte, and reads
      const after = readLog(logs);
      console.log(`disk full after ${after.completed} complete intervals (${after.text.length} bytes); `
        + `soak sent ${report.targets[0].sent}, exit ${code}`);
      expect(after.text.startsWith(before.text)).toBe(true);
      expect(after.completed).toBeGreaterThanOrEqual(before.completed);
      expect(after.text.endsWith('\n')).toBe(true); // a failed write is cut back: no torn last line
      // an interval is on disk whole or not at all: as many rtt and send_error lines as counts lines
      for (const tag of ['rtt', 'send_error', 'turnaround']) {
        expect((after.text.match(new RegExp(`^Tag=${tag},`, 'gm')) ?? []).length, tag).toBe(after.completed);
      }
      await expectReadable(logs, after.completed);
    } finally {
      soak.child.kill('SIGKILL');
      await soak.exited;
      await agent.stop();
      unmount(mnt);
    }
  });

  it('a read-only file system at start: exit 2 naming --hlog and the cause, nothing probed', async () => {
    const mnt = join(dir, 'ro');
    mount(mnt, 'size=64k,ro');
    try {
      const result = await runCli(['soak', '--target', '127.0.0.1:9', '--interval', '1s', '--hlog', join(mnt, 'logs')], { timeoutMs: 20_000 });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--hlog: cannot write interval logs to .*logs: read-only file system \(EROFS\)/);
      expect(result.stderr).not.toMatch(STACK_TRACE);
      expect(result.stdout).toBe('');
    } finally {
      unmount(mnt);
    }
  });

  it('--resume into a log whose file system became read-only: exit 2 with the cause, the log untouched and readable', async () => {
    const mnt = join(dir, 'later-ro');
    mount(mnt, 'size=256k');
    const agent = await startAgent();
    const logs = join(mnt, 'logs');
    const args = ['soak', '--target', `g=127.0.0.1:${agent.port}`, '--interval', '1s', '--hlog', logs, '--quiet'];
    try {
      const first = spawnCli(args);
      await waitFor(() => readLog(logs).completed >= 2, { what: '2 completed intervals', timeoutMs: 20_000 });
      first.child.kill('SIGKILL'); // a crash, as before a resume
      await first.exited;
      const written = readLog(logs);
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const resumed = spawnCli([...args, '--resume']);
      const code = await resumed.exited;
      expect(code, resumed.stderr()).toBe(2);
      expect(resumed.stderr()).toMatch(/read-only file system \(EROFS\)/);
      expect(resumed.stderr()).not.toMatch(STACK_TRACE);
      expect(readLog(logs).text).toBe(written.text);
      await expectReadable(logs, written.completed);
    } finally {
      await agent.stop();
      unmount(mnt);
    }
  });
});

describe('fault: --hlog under a regular file (any user)', () => {
  it('exit 2 at start naming --hlog and the cause (not a directory), no stack trace', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const result = await runCli(['soak', '--target', '127.0.0.1:9', '--interval', '1s', '--hlog', join(file, 'logs')], { timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--hlog: cannot write interval logs to .*a-file\/logs: a path component is not a directory \(ENOTDIR\)/);
    expect(result.stderr).not.toMatch(STACK_TRACE);
  });
});
