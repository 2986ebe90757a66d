/**
 * Fault: the soak controller is killed with SIGKILL, the log's last line is torn (as a crash
 * mid-write leaves it), then the soak is started again with --resume (README, "Long soaks"):
 * the torn line is cut off, every line before it stays in the log byte for byte, the time
 * between is recorded as a gap whose line names the bytes removed, and the resumed soak
 * appends its intervals after it.
 *
 * The soak writes each interval (tag lines and counts line) in one write, so a kill alone
 * does not tear a line reliably: the test cuts the file inside its last line itself.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startAgent } from '../helpers/cli.js';
import { spawnCli } from '../helpers/spawn-cli.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

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

describe('fault: soak kill -9, a torn last line, then --resume (real processes, loopback)', () => {
  it('the torn line is cut, every line before it survives byte for byte, the gap is recorded with the bytes removed, the resumed soak appends after it', async () => {
    const agent = await startAgent();
    const logs = join(dir, 'logs');
    const args = ['soak', '--target', `g=127.0.0.1:${agent.port}`, '--rate', '100', '--interval', '1s', '--hlog', logs, '--quiet'];
    try {
      const first = spawnCli(args);
      await waitFor(() => countsLines(read(logFile(logs))).length >= 3, { what: '3 completed intervals', timeoutMs: 20_000 });
      first.child.kill('SIGKILL');
      await first.exited;
      const killedAtMs = performance.now();
      expect(first.signal()).toBe('SIGKILL');
      const file = logFile(logs) ?? '';
      const completed = completedPrefix(read(file));
      const atKill = countsLines(completed);
      expect(atKill.length).toBeGreaterThanOrEqual(3);

      // Tear the last line (the last interval's counts line): cut the file in its middle.
      // Anything after the completed intervals (a write the kill interrupted) goes too.
      const lastLineStart = completed.lastIndexOf('\n', completed.length - 2) + 1;
      const cutAt = lastLineStart + Math.floor((completed.length - 1 - lastLineStart) / 2);
      truncateSync(file, Buffer.byteLength(completed.slice(0, cutAt)));
      const torn = readFileSync(file);
      const keptBytes = Buffer.byteLength(completed.slice(0, lastLineStart));
      const tornBytes = torn.length - keptBytes;
      expect(tornBytes).toBeGreaterThan(10);
      expect(torn.subarray(keptBytes).includes(0x0a)).toBe(false); // one line, no line end: torn
      const kept = torn.subarray(0, keptBytes);
      // the torn interval's tag lines are whole and stay; its counts line is the torn one
      const before = countsLines(kept.toString('utf8'));
      const tornInterval = atKill.at(-1) ?? { startS: 0, lengthS: 0 };
      expect(before).toEqual(atKill.slice(0, -1));

      await sleep(DOWN_MS); // the fault: no soak runs meanwhile
      const second = spawnCli([...args, '--resume']);
      const resumedAtMs = performance.now();
      await waitFor(() => countsLines(read(file)).length >= before.length + 2, { what: '2 intervals after the resume', timeoutMs: 20_000 });
      second.child.kill('SIGINT');
      expect(await second.exited, second.stderr()).toBe(0);
      expect(second.stderr()).not.toMatch(/\n\s+at .*\.(ts|js):\d+/); // no stack trace
      expect(second.stderr()).toMatch(new RegExp(`hlog g: interval log: resuming .*\\.hlog, gap of [\\d.]+ s recorded, torn last line \\(${tornBytes} bytes\\) removed`));

      const final = readFileSync(file);
      // Every line before the torn one is still there, byte for byte, and nothing else of it.
      expect(final.subarray(0, keptBytes).equals(kept)).toBe(true);
      expect(readdirSync(logs).filter((f) => f.endsWith('.hlog'))).toHaveLength(1);
      // Right after the kept lines: the gap, saying the torn line was removed, then the new intervals.
      const rest = final.subarray(keptBytes).toString('utf8');
      const gap = new RegExp(`^#\\[Gap: from ([\\d.]+) to ([\\d.]+) \\(seconds since epoch\\), torn last line of ${tornBytes} bytes removed\\]\n`).exec(rest);
      expect(gap, rest.slice(0, 300)).not.toBeNull();
      const gapFromS = Number(gap?.[1]);
      const gapToS = Number(gap?.[2]);
      // The gap starts where the last interval in the file ends (the torn one: its tag lines
      // stay) and ends where the first resumed interval starts; it covers at least the time
      // no soak ran, measured here.
      expect(Math.abs(gapFromS - (tornInterval.startS + tornInterval.lengthS))).toBeLessThanOrEqual(0.002);
      expect(gapToS - gapFromS).toBeGreaterThanOrEqual((resumedAtMs - killedAtMs) / 1000 - 0.01);
      const after = countsLines(rest);
      expect(after.length).toBeGreaterThanOrEqual(2);
      expect(Math.abs((after[0]?.startS ?? 0) - gapToS)).toBeLessThanOrEqual(0.002);
      for (let i = 1; i < after.length; i++) expect(after[i]?.startS).toBeGreaterThan(after[i - 1]?.startS ?? Infinity);
      // 100 Hz: every whole interval's probes; the last one is the partial interval SIGINT wrote
      for (const interval of [...before, ...after.slice(0, -1)]) {
        expect(interval.sent).toBeGreaterThanOrEqual(90);
        expect(interval.lost).toBe(0);
      }
      expect(after.at(-1)).toMatchObject({ lost: 0 });
      console.log(`kept ${before.length} intervals and the tag lines of one more (${keptBytes} bytes), cut a torn line of `
        + `${tornBytes} bytes, gap ${(gapToS - gapFromS).toFixed(3)} s, ${after.length} intervals after the resume`);

      // The whole log reads: no malformed line, the gap recorded, every tag line of both soaks counted.
      const report = await runCli(['report', logs, '--json']);
      expect(report.code, report.stderr).toBe(0);
      const parsed = JSON.parse(report.stdout);
      expect(Object.values(parsed.malformed as Record<string, number>).every((n) => n === 0), JSON.stringify(parsed.malformed)).toBe(true);
      expect(parsed.gaps_recorded).toHaveLength(1);
      const rttLines = final.toString('utf8').split('\n').filter((line) => line.startsWith('Tag=rtt,')).length;
      const rtt = (parsed.series as { tag: string; intervals: number }[]).find((s) => s.tag === 'rtt');
      expect(rtt?.intervals).toBe(rttLines);
      expect(rttLines).toBe(before.length + 1 + after.length);
    } finally {
      await agent.stop();
    }
  });
});
