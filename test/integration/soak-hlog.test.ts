import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { START_DELAY_NS } from '../../controller/engine/run-controller.js';
import { CLI_PATH, runCli, startAgent } from '../helpers/cli.js';
import { skipNote, whySkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-soak-hlog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function soak(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI_PATH, 'soak', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

const noRawSockets = whySkip([process.getuid?.() !== 0, 'it soaks ICMP to 127.0.0.1: raw sockets need root']);
const ended = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => child.on('close', resolve));

function logFile(logDir: string): string | null {
  const name = existsSync(logDir) ? readdirSync(logDir).find((f) => f.endsWith('.hlog')) : undefined;
  return name === undefined ? null : join(logDir, name);
}

/** The log file of `dir` once it holds at least `count` interval lines. */
async function waitForIntervals(logDir: string, count: number, timeoutMs: number): Promise<string> {
  const lines = (): number => { const file = logFile(logDir); return file === null ? 0 : intervalLines(file).length; };
  await waitFor(() => lines() >= count, { what: () => `${count} interval lines in ${logDir} (${lines()} so far)`, timeoutMs, everyMs: 100 });
  return logFile(logDir) ?? '';
}

function intervalLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((line) => line.startsWith('Tag='));
}

/** The sums of the log's `#[rtprobe-interval: …]` counters. */
function countLines(file: string): { sent: number; received: number; lost: number } {
  const sum = { sent: 0, received: 0, lost: 0 };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^#\[rtprobe-interval: .* sent=(\d+) received=(\d+) lost=(\d+) /.exec(line);
    if (!match) continue;
    sum.sent += Number(match[1]);
    sum.received += Number(match[2]);
    sum.lost += Number(match[3]);
  }
  return sum;
}

const JAR = '/usr/share/java/hdrhistogram.jar';

/** Java's HistogramLogProcessor over the rtt tag: intervals and total count, null without java and the jar. */
async function javaRttTotals(file: string): Promise<{ intervals: number; count: number } | null> {
  if (spawnSync('java', ['-version']).error || !existsSync(JAR)) return null;
  const out = `${file}.java`;
  const result = spawnSync('java', ['-cp', JAR, 'org.HdrHistogram.HistogramLogProcessor', '-i', file, '-tag', 'rtt', '-csv', '-o', out], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  const rows = readFileSync(out, 'utf8').split('\n').filter((line) => /^\d/.test(line));
  return { intervals: rows.length, count: Number(rows.at(-1)?.split(',')[5] ?? Number.NaN) };
}

/** A soak of 1 s intervals into `logs` until 2 intervals are logged, then SIGINT (it logs the partial last); its JSON report. */
async function soakTwoIntervals(port: number, logs: string): Promise<string> {
  const child = soak(['--target', `g=127.0.0.1:${port}`, '--interval', '1s', '--hlog', logs, '--json', '-', '--quiet']);
  let stdout = '';
  child.stdout?.on('data', (c: Buffer) => { stdout += c.toString(); });
  await waitForIntervals(logs, 6, 30_000); // 2 intervals × 3 tags
  child.kill('SIGINT');
  expect(await ended(child)).toBe(0);
  return stdout;
}

describe('soak --hlog: interval logs that survive kill -9 and resume (real CLI on loopback)', () => {
  it('one line per tag per interval, read back by rtprobe report with the same counts', async () => {
    const agent = await startAgent();
    const logs = join(dir, 'plain');
    try {
      const stdout = await soakTwoIntervals(agent.port, logs);
      // the day's log, and beside it who wrote it (rtprobe-provenance.json)
      const files = readdirSync(logs).filter((f) => f.endsWith('.hlog'));
      expect(readdirSync(logs).sort()).toEqual([...files, 'rtprobe-provenance.json']);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^g-\d{4}-\d{2}-\d{2}\.hlog$/);
      const lines = intervalLines(join(logs, files[0] ?? ''));
      const tags = lines.map((line) => /^Tag=([a-z_]+),/.exec(line)?.[1]);
      expect(new Set(tags)).toEqual(new Set(['rtt', 'send_error', 'turnaround']));
      const perTag = tags.filter((t) => t === 'rtt').length;
      expect(perTag).toBeGreaterThanOrEqual(2);
      expect(tags.filter((t) => t === 'turnaround').length).toBe(perTag);
      const report = await runCli(['report', logs, '--json']);
      expect(report.code, report.stderr).toBe(0);
      const series = JSON.parse(report.stdout).series as { target: string; tag: string; intervals: number; values_ns: { count: number } }[];
      const rtt = series.find((x) => x.target === 'g' && x.tag === 'rtt');
      expect(rtt?.intervals).toBe(perTag);
      // SIGINT writes the partial last interval first: the log and the soak's report agree to the probe.
      const target = JSON.parse(stdout).targets[0] as { sent: number; received: number; lost: number; rtt_ns: { count: number } };
      expect(rtt?.values_ns.count).toBe(target.rtt_ns.count);
      const counted = countLines(join(logs, files[0] ?? ''));
      expect(counted).toEqual({ sent: target.sent, received: target.received, lost: target.lost });
    } finally {
      await agent.stop();
    }
  });

  it('one writer per log: a second soak on the directory exits 2 at once naming the first\'s PID; the first logs on, and SIGTERM logs its last partial interval', async () => {
    const agent = await startAgent();
    const logs = join(dir, 'two');
    try {
      const first = soak(['--target', `g=127.0.0.1:${agent.port}`, '--interval', '1s', '--hlog', logs, '--json', '-', '--quiet']);
      let stdout = '';
      first.stdout?.on('data', (c: Buffer) => { stdout += c.toString(); });
      await waitForIntervals(logs, 3, 30_000);
      // the start-up of a soak that fails its flags, to tell start-up from waiting
      const started = Date.now();
      await runCli(['soak', '--target', `g=127.0.0.1:${agent.port}`, '--interval', 'x']);
      const startUpMs = Date.now() - started;
      for (const extra of [['--resume'], []]) {
        const t0 = Date.now();
        const second = await runCli(['soak', '--target', `g=127.0.0.1:${agent.port}`, '--interval', '1s', '--hlog', logs, ...extra]);
        expect(second.code, second.stderr).toBe(2);
        expect(second.stderr).toContain(`PID ${first.pid}`);
        expect(second.stderr).toMatch(/one writer per log/);
        expect(Date.now() - t0).toBeLessThan(startUpMs + 1000);
      }
      const linesBefore = intervalLines(logFile(logs) ?? '').length;
      await waitForIntervals(logs, linesBefore + 3, 20_000);
      // SIGTERM (a service manager's stop) writes the partial last interval as SIGINT does
      first.kill('SIGTERM');
      expect(await ended(first)).toBe(0);
      const file = logFile(logs) ?? '';
      const text = readFileSync(file, 'utf8');
      expect(text.split('\n').filter((line) => line.startsWith('#[Histogram log format')).length).toBe(1);
      expect(existsSync(join(logs, '.rtprobe-soak.lock'))).toBe(false);
      const target = JSON.parse(stdout).targets[0] as { sent: number; received: number; lost: number; rtt_ns: { count: number } };
      expect(countLines(file)).toEqual({ sent: target.sent, received: target.received, lost: target.lost });
      const rttLines = intervalLines(file).filter((line) => line.startsWith('Tag=rtt,'));
      const java = await javaRttTotals(file);
      if (java !== null) expect(java).toEqual({ intervals: rttLines.length, count: target.rtt_ns.count });
    } finally {
      await agent.stop();
    }
  });

  // An interval closes on a JavaScript timer while the native thread hands its events over in
  // 100 ms batches: without a flush at the close, the probes of the last batch's stretch went
  // into the next interval (the first interval held 91 of its 99 probes).
  it('an interval holds every probe sent before it closed: the threads hand over their events first', async () => {
    const agent = await startAgent();
    const logs = join(dir, 'boundary');
    try {
      const stdout = await soakTwoIntervals(agent.port, logs);
      const intervals = [...readFileSync(logFile(logs) ?? '', 'utf8').matchAll(/^#\[rtprobe-interval: start=([\d.]+) length=([\d.]+) sent=(\d+) /gm)]
        .map((m) => ({ endS: Number(m[1]) + Number(m[2]), sent: Number(m[3]) }));
      // Slot k is due at 'started' + the schedule's start delay + k × 10 ms (100 Hz).
      const firstDueS = Date.parse(JSON.parse(stdout).started as string) / 1000 + Number(START_DELAY_NS) / 1e9;
      const dueBy = (endS: number): number => Math.floor((endS - firstDueS) / 0.01) + 1;
      const [first, second] = intervals;
      const expected = [dueBy(first?.endS ?? 0), dueBy(second?.endS ?? 0) - dueBy(first?.endS ?? 0)];
      const said = `first two intervals: sent ${first?.sent} and ${second?.sent}, slots due in them ${expected.join(' and ')}`;
      // (± 1: the ms of the timestamps, a slot due at the close; + 2: slots sent while the flush is answered)
      expect(first?.sent, said).toBeGreaterThanOrEqual((expected[0] ?? 0) - 1);
      expect(first?.sent, said).toBeLessThanOrEqual((expected[0] ?? 0) + 2);
      expect(second?.sent, said).toBeGreaterThanOrEqual((expected[1] ?? 0) - 2);
      expect(second?.sent, said).toBeLessThanOrEqual((expected[1] ?? 0) + 2);
    } finally {
      await agent.stop();
    }
  });

  it('a lock whose holder is gone does not block --resume', async () => {
    const agent = await startAgent();
    const logs = join(dir, 'stale');
    try {
      const first = soak(['--target', `g=127.0.0.1:${agent.port}`, '--interval', '1s', '--hlog', logs, '--quiet']);
      await waitForIntervals(logs, 3, 30_000);
      first.kill('SIGKILL');
      await ended(first);
      expect(readFileSync(join(logs, '.rtprobe-soak.lock'), 'utf8')).toContain(`"pid":${first.pid}`);
      const second = soak(['--target', `g=127.0.0.1:${agent.port}`, '--interval', '1s', '--hlog', logs, '--resume', '--quiet']);
      let stderr = '';
      second.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
      const before = intervalLines(logFile(logs) ?? '').length;
      await waitForIntervals(logs, before + 3, 20_000);
      second.kill('SIGINT');
      expect(await ended(second)).toBe(0);
      expect(stderr).toContain(`took over the lock of ${logs} from the soak of PID ${first.pid}`);
    } finally {
      await agent.stop();
    }
  });

  it.skipIf(noRawSockets !== null)(`kill -9 mid-soak, then --resume: every completed interval kept, the gap recorded${skipNote(noRawSockets)}`, async () => {
    const logs = join(dir, 'crash');
    const first = soak(['--target', 'lo=icmp://127.0.0.1', '--interval', '1s', '--hlog', logs, '--quiet', '--timestamps', 'auto']);
    // Wait for completed intervals (start-up time varies with the machine's load), then crash it.
    const file = await waitForIntervals(logs, 2, 20_000);
    const beforeKill = intervalLines(file).length;
    first.kill('SIGKILL');
    await ended(first);
    const afterKill = intervalLines(file);
    expect(afterKill.length).toBeGreaterThanOrEqual(beforeKill);
    const refused = await runCli(['soak', '--target', 'lo=icmp://127.0.0.1', '--interval', '1s', '--hlog', logs]);
    expect(refused.code).toBe(2);
    const second = soak(['--target', 'lo=icmp://127.0.0.1', '--interval', '1s', '--hlog', logs, '--resume', '--quiet']);
    await waitForIntervals(logs, afterKill.length + 1, 20_000); // an interval of the resumed soak
    second.kill('SIGINT');
    expect(await ended(second)).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^#\[Gap: from [\d.]+ to [\d.]+/m);
    const resumed = intervalLines(file);
    expect(resumed.slice(0, afterKill.length)).toEqual(afterKill);
    expect(resumed.length).toBeGreaterThan(afterKill.length);
    const report = await runCli(['report', logs]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/malformed none/);
  });
});
