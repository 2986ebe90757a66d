import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWaitStatus, groupMembers, LoadSession, logTailLines, onPath } from '../../../controller/load/load-runner.js';
import { waitFor } from '../../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-load-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('load runner helpers', () => {
  it('decodeWaitStatus: exit codes and signals as waitpid reports them', () => {
    expect(decodeWaitStatus(0)).toEqual({ code: 0, signal: null });
    expect(decodeWaitStatus(3 << 8)).toEqual({ code: 3, signal: null });
    expect(decodeWaitStatus(15)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(decodeWaitStatus(9 | 0x80)).toEqual({ code: null, signal: 'SIGKILL' }); // core-dump bit
  });

  it('onPath: an executable file in a PATH directory, nothing else', () => {
    writeFileSync(join(dir, 'tool-x'), '#!/bin/sh\n');
    chmodSync(join(dir, 'tool-x'), 0o755);
    writeFileSync(join(dir, 'not-x'), '');
    expect(onPath('tool-x', `/nonexistent:${dir}`)).toBe(true);
    expect(onPath('not-x', dir)).toBe(false);
    expect(onPath('tool-x', '')).toBe(false);
  });

  it('logTailLines: the last lines, a cut first line dropped, none for a missing file', () => {
    const log = join(dir, 'load.log');
    writeFileSync(log, `${Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n')}\n\n`);
    expect(logTailLines(log, 3)).toEqual(['line 997', 'line 998', 'line 999']);
    expect(logTailLines(log).length).toBe(20);
    writeFileSync(log, 'x'.repeat(5000) + '\nlast\n');
    expect(logTailLines(log)).toEqual(['last']);
    expect(logTailLines(join(dir, 'missing.log'))).toEqual([]);
  });

  it('groupMembers: every live process of a detached group, none once it is gone', async () => {
    const child = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    const pgid = child.pid ?? 0;
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      // the shell and its two sleeps, once the shell has started them
      await waitFor(() => groupMembers(pgid).length >= 3, { what: () => `3 members in group ${pgid} (${groupMembers(pgid).join(', ')})`, timeoutMs: 10_000 });
      const members = groupMembers(pgid);
      expect(members).toContain(pgid);
      expect(members.length).toBe(3);
    } finally {
      process.kill(-pgid, 'SIGKILL');
    }
    await exited;
    await waitFor(() => groupMembers(pgid).length === 0, { what: () => `group ${pgid} to be gone (${groupMembers(pgid).join(', ')})`, timeoutMs: 10_000 });
  });
});

/**
 * LoadSession against a fake `stress-ng` (a shell script first on PATH): how a load that ends at
 * once, dies mid-run, ignores SIGTERM or stops politely is handled, without stress-ng or root.
 */
describe('LoadSession with a fake stress-ng', () => {
  const savedPath = process.env.PATH;
  const lines: string[] = [];
  const io = { log: (line: string) => { lines.push(line); }, status: () => {} };

  async function withFake<T>(script: string, body: () => Promise<T>): Promise<T> {
    const bin = mkdtempSync(join(dir, 'bin-'));
    writeFileSync(join(bin, 'stress-ng'), `#!/bin/sh\n${script}\n`);
    chmodSync(join(bin, 'stress-ng'), 0o755);
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    try {
      return await body();
    } finally {
      process.env.PATH = savedPath;
    }
  }

  it('a load that ends at once: an Error quoting its output, nothing left', async () => {
    await withFake('echo "bad option $1" >&2; exit 3', async () => {
      const session = await LoadSession.start([{ kind: 'cpu', where: 'host' }], 60, io);
      expect(session).toBeInstanceOf(Error);
      expect((session as Error).message).toMatch(/load cpu on the host ended at once \(exit 3\): stress-ng --cpu 0 .*\nbad option --cpu/);
    });
  });

  it('stopped politely: SIGTERM to the group, its status, its output; the log dir removed on close', async () => {
    await withFake('echo running; sleep 30 & wait', async () => {
      const session = await LoadSession.start([{ kind: 'cpu', where: 'host' }], 60, io);
      if (session instanceof Error) throw session;
      const [record] = session.stopSync();
      expect(record).toMatchObject({ kind: 'cpu', where: 'host', died: false, stop_signals: ['SIGTERM'], exit: { code: null, signal: 'SIGTERM' }, output: ['running'] });
      expect(groupMembers(record?.pid ?? 0)).toEqual([]);
      expect(session.stopSync()).toEqual([record]); // idempotent
      await session.close();
      expect(readdirSync(tmpdir()).filter((name) => name.startsWith('rtprobe-load-') && existsSync(join(tmpdir(), name, `1-cpu-host.log`)))).toEqual([]);
    });
  });

  it('a load that ignores SIGTERM gets SIGKILL after the grace time, its whole group too', async () => {
    await withFake("trap '' TERM; while :; do sleep 0.1; done", async () => {
      const session = await LoadSession.start([{ kind: 'cpu', where: 'host' }], 60, io);
      if (session instanceof Error) throw session;
      const before = Date.now();
      const [record] = session.stopSync();
      expect(Date.now() - before).toBeGreaterThanOrEqual(1900);
      expect(record).toMatchObject({ died: false, stop_signals: ['SIGTERM', 'SIGKILL'], exit: { signal: 'SIGKILL' } });
      expect(groupMembers(record?.pid ?? 0)).toEqual([]);
      await session.close();
    });
  });

  it('a load that dies mid-run: logged when it happens, recorded as died with its code and last words', async () => {
    await withFake('echo working; sleep 0.8; echo "giving up" >&2; exit 4', async () => {
      lines.length = 0;
      const session = await LoadSession.start([{ kind: 'cpu', where: 'host' }], 60, io);
      if (session instanceof Error) throw session;
      await waitFor(() => lines.some((line) => line.includes('ended by itself')), { what: "the 'ended by itself' line", timeoutMs: 10_000 });
      expect(lines.find((line) => line.includes('ended by itself'))).toMatch(/load cpu on the host \(pid \d+\) ended by itself \(exit 4\): giving up/);
      const [record] = session.stopSync();
      expect(record).toMatchObject({ died: true, stop_signals: [], exit: { code: 4, signal: null }, output: ['working', 'giving up'] });
      await session.close();
    });
  });
});
