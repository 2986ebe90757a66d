/**
 * Fault: the soak controller is killed with SIGKILL while it writes its interval logs, then
 * started again with --resume (README, "Long soaks"): every interval completed before the kill
 * stays in the log byte for byte, the time between is recorded as a gap, and the resumed soak
 * appends its intervals after it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startAgent } from '../helpers/cli.js';
import { spawnCli, waitFor } from '../helpers/spawn-cli.js';

const DOWN_MS = 1500;
const dir = mkdtempSync(join(tmpdir(), 'rtprobe-fault-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Counts { startS: number; lengthS: number; sent: number; received: number; lost: number }

/** The `#[rtprobe-interval: …]` line after each completed interval's tag lines. */
function countsLines(text: string): Counts[] {
  return [...text.matchAll(/^#\[rtprobe-interval: start=([\d.]+) length=([\d.]+) sent=(\d+) received=(\d+) lost=(\d+) /gm)]
    .map((m) => ({ startS: Number(m[1]), lengthS: Number(m[2]), sent: Number(m[3]), received: Number(m[4]), lost: Number(m[5]) }));
}

/** The file up to and including its last counts line: the intervals completed so far. */
function completedPrefix(text: string): string {
  const last = text.lastIndexOf('#[rtprobe-interval:');
  return last < 0 ? '' : text.slice(0, text.indexOf('\n', last) + 1);
}

function logFile(logDir: string): string | null {
  const name = existsSync(logDir) ? readdirSync(logDir).find((f) => f.endsWith('.hlog')) : undefined;
  return name === undefined ? null : join(logDir, name);
}

const read = (file: string | null): string => (file === null ? '' : readFileSync(file, 'utf8'));

describe('fault: soak kill -9 mid-interval, then --resume (real processes, loopback)', () => {
  it('every completed interval survives byte for byte, the gap is recorded, the resumed soak appends after it', async () => {
    const agent = await startAgent();
    const logs = join(dir, 'logs');
    const args = ['soak', '--target', `g=127.0.0.1:${agent.port}`, '--rate', '100', '--interval', '1s', '--hlog', logs, '--quiet'];
    try {
      const first = spawnCli(args);
      await waitFor('3 completed intervals', () => countsLines(read(logFile(logs))).length >= 3, 20_000);
      // Kill it while it writes the next interval: as soon as that interval's first line is in
      // (each line is written and fsync'ed on its own, so its other lines are not yet).
      const file = logFile(logs) ?? '';
      const completedBytes = completedPrefix(read(file)).length;
      await waitFor('the next interval\'s first line', () => read(file).length > completedBytes, 5_000, 1);
      first.child.kill('SIGKILL');
      await first.exited;
      const killedAtMs = performance.now();
      expect(first.signal()).toBe('SIGKILL');
      const atKill = read(file);
      const kept = completedPrefix(atKill);
      const before = countsLines(kept);
      expect(before.length).toBeGreaterThanOrEqual(3);

      await new Promise((resolve) => setTimeout(resolve, DOWN_MS)); // the fault: no soak runs meanwhile
      const second = spawnCli([...args, '--resume']);
      const resumedAtMs = performance.now();
      await waitFor('2 intervals after the resume', () => countsLines(read(file)).length >= before.length + 2, 20_000);
      second.child.kill('SIGINT');
      expect(await second.exited, second.stderr()).toBe(0);
      expect(second.stderr()).not.toMatch(/\n\s+at .*\.(ts|js):\d+/); // no stack trace

      const final = read(file);
      // Nothing completed before the kill was lost or rewritten.
      expect(final.startsWith(kept)).toBe(true);
      expect(readdirSync(logs)).toHaveLength(1);
      // Right after the kept part (past a torn or half-written interval, if any): the gap, then the new intervals.
      const rest = final.slice(kept.length);
      const gap = /^#\[Gap: from ([\d.]+) to ([\d.]+)/m.exec(rest);
      expect(gap, rest.slice(0, 300)).not.toBeNull();
      const lastBefore = before.at(-1) ?? { startS: 0, lengthS: 0 };
      const gapFromS = Number(gap?.[1]);
      const gapToS = Number(gap?.[2]);
      // The gap starts where the last interval in the file ended (a half-written one, whose
      // whole lines stay, may end it one interval later) and ends where the first resumed
      // interval starts; it covers at least the time no soak ran, measured here.
      const lastEndS = lastBefore.startS + lastBefore.lengthS;
      expect(gapFromS).toBeGreaterThanOrEqual(lastEndS - 0.002);
      expect(gapFromS).toBeLessThanOrEqual(lastEndS + 1.1);
      expect(gapToS - gapFromS).toBeGreaterThanOrEqual((resumedAtMs - killedAtMs) / 1000 - 0.01);
      const after = countsLines(rest.slice(gap?.index ?? 0));
      expect(after.length).toBeGreaterThanOrEqual(2);
      expect(Math.abs((after[0]?.startS ?? 0) - gapToS)).toBeLessThanOrEqual(0.002);
      for (let i = 1; i < after.length; i++) expect(after[i]?.startS).toBeGreaterThan(after[i - 1]?.startS ?? Infinity);
      for (const interval of [...before, ...after]) {
        expect(interval.sent).toBeGreaterThanOrEqual(90);
        expect(interval.lost).toBe(0);
      }
      console.log(`kept ${before.length} intervals (${kept.length} of ${atKill.length} bytes at the kill), `
        + `gap ${(gapToS - gapFromS).toFixed(3)} s, ${after.length} intervals after the resume`);

      // The whole log reads: no malformed line, the gap recorded, every tag line of both soaks counted.
      const report = await runCli(['report', logs, '--json']);
      expect(report.code, report.stderr).toBe(0);
      const parsed = JSON.parse(report.stdout);
      expect(Object.values(parsed.malformed as Record<string, number>).every((n) => n === 0)).toBe(true);
      expect(parsed.gaps_recorded).toHaveLength(1);
      const rttLines = final.split('\n').filter((line) => line.startsWith('Tag=rtt,')).length;
      const rtt = (parsed.series as { tag: string; intervals: number }[]).find((s) => s.tag === 'rtt');
      expect(rtt?.intervals).toBe(rttLines);
      expect(rttLines).toBeGreaterThanOrEqual(before.length + after.length);
    } finally {
      await agent.stop();
    }
  });
});
