import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWaitStatus, groupMembers, logTailLines, onPath } from '../../../controller/lab/load-runner.js';

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
      let members: number[] = [];
      for (let i = 0; i < 100 && members.length < 3; i++) {
        await sleep(20);
        members = groupMembers(pgid);
      }
      expect(members).toContain(pgid);
      expect(members.length).toBe(3);
    } finally {
      process.kill(-pgid, 'SIGKILL');
    }
    await exited;
    for (let i = 0; i < 100 && groupMembers(pgid).length > 0; i++) await sleep(20);
    expect(groupMembers(pgid)).toEqual([]);
  });
});
