import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../shared/histogram/latency-histogram.js';
import type { HlogReport } from '../../controller/hlog/hlog-report.js';
import { HlogFileWriter } from '../../controller/hlog/hlog-writer.js';
import { runCli } from '../helpers/cli.js';
import { skipNote } from '../helpers/skip.js';
import { Prng } from '../helpers/prng.js';

/** Debian libhdrhistogram-java; .ci/run installs it with a JRE. */
const JAR = '/usr/share/java/hdrhistogram.jar';
const JAVA_WRITER = fileURLToPath(new URL('../fixtures/hlog/JavaHlogWriter.java', import.meta.url));
const run = promisify(execFile);

function missing(): string | null {
  if (spawnSync('java', ['-version']).error) return 'no java on PATH';
  if (!existsSync(JAR)) return `no ${JAR} (apt-get install libhdrhistogram-java)`;
  return null;
}
const skipReason = missing();

const T0 = Date.parse('2024-05-01T23:59:00Z');
const TAGS = ['rtt', 'turnaround', 'send_error'] as const;
const INTERVALS = 8;

/** Deterministic, skewed values: a body of tens of µs, a tail to tens of ms, one 45 s outlier in rtt. */
function values(tag: string, interval: number): number[] {
  if (tag === 'send_error' && interval === 3) return []; // an empty interval: Java must take it too
  const prng = new Prng((interval + 1) * 7919 + tag.length);
  const scale = { rtt: 60_000, turnaround: 9_000, send_error: 3_000 }[tag] ?? 1000;
  const out = Array.from({ length: 3000 }, () => Math.round(scale * (1 + prng.float() * 2) / Math.max(0.02, prng.float() ** 3)));
  if (tag === 'rtt' && interval === 5) out.push(45_000_000_000);
  return out;
}

interface JavaTotals { intervals: number; count: number; p50: number; p90: number; p99: number; p99_9: number; p99_99: number; max: number }

/** HistogramLogProcessor -csv in ns (ratio 1): the last row holds the totals over all intervals. */
async function javaTotals(file: string, out: string, tag: string | null): Promise<JavaTotals> {
  await run('java', ['-cp', JAR, 'org.HdrHistogram.HistogramLogProcessor', '-i', file, ...(tag ? ['-tag', tag] : []),
    '-csv', '-outputValueUnitRatio', '1', '-o', out]);
  const rows = readFileSync(out, 'utf8').split('\n').filter((line) => /^\d/.test(line));
  const last = rows.at(-1)?.split(',').map(Number) ?? [];
  const [, , , , , count = -1, p50 = -1, p90 = -1, p99 = -1, p99_9 = -1, p99_99 = -1, max = -1] = last;
  return { intervals: rows.length, count, p50, p90, p99, p99_9, p99_99, max };
}

function expectWithinTenthPercent(ours: number | null, java: number): void {
  expect(ours).not.toBeNull();
  expect(Math.abs((ours ?? 0) - java)).toBeLessThanOrEqual(java * 0.001);
}

describe.skipIf(skipReason !== null)(`HdrHistogram's Java HistogramLogProcessor reads our logs${skipNote(skipReason)}`, () => {
  let dir: string;
  let log: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hlog-java-'));
    log = join(dir, 'lab1-2024-05-01.hlog');
    let writer = await HlogFileWriter.create(log, T0);
    if (writer instanceof Error) throw writer;
    for (let i = 0; i < INTERVALS; i++) {
      if (i === 5) {
        // a restart: our gap comment line must not disturb Java's reader
        await writer.close();
        const resumed = await HlogFileWriter.resume(log, T0 + i * 10_000 + 30_000);
        if (resumed instanceof Error) throw resumed;
        writer = resumed.writer;
      }
      for (const tag of TAGS) {
        const histogram = new LatencyHistogram();
        for (const value of values(tag, i)) histogram.record(value);
        const startMs = T0 + i * 10_000 + (i >= 5 ? 30_000 : 0);
        const error = await writer.append({ tag, startMs, lengthMs: 10_000, maxNs: histogram.maxNs, histogram: histogram.histogram });
        if (error) throw error;
      }
    }
    await writer.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(TAGS)("tag %s: same intervals, total count, percentiles and max as rtprobe's report", async (tag) => {
    const java = await javaTotals(log, join(dir, `java-${tag}.csv`), tag);
    const result = await runCli(['report', log, '--tag', tag, '--json']);
    expect(result.code).toBe(0);
    const [series] = (JSON.parse(result.stdout) as HlogReport).series;
    if (!series) throw new Error('no series');
    expect(java.intervals).toBe(INTERVALS);
    expect(series.intervals).toBe(INTERVALS);
    const sent = Array.from({ length: INTERVALS }, (_, i) => values(tag, i).length).reduce((a, b) => a + b, 0);
    expect(java.count).toBe(sent);
    expect(series.values_ns.count).toBe(sent);
    expectWithinTenthPercent(series.values_ns.max, java.max);
    expectWithinTenthPercent(series.values_ns.p50, java.p50);
    expectWithinTenthPercent(series.values_ns.p90, java.p90);
    expectWithinTenthPercent(series.values_ns.p99, java.p99);
    expectWithinTenthPercent(series.values_ns.p99_9, java.p99_9);
    expectWithinTenthPercent(series.values_ns.p99_99, java.p99_99);
  });

  it("writes the .hgrm Java's processor writes, byte for byte below its two header comments", async () => {
    const javaOut = join(dir, 'java-text');
    await run('java', ['-cp', JAR, 'org.HdrHistogram.HistogramLogProcessor', '-i', log, '-tag', 'rtt', '-outputValueUnitRatio', '1000', '-o', javaOut]);
    const ours = join(dir, 'ours', 'lab1-rtt.hgrm');
    expect((await runCli(['report', log, '--tag', 'rtt', '--hgrm', join(dir, 'ours')])).code).toBe(0);
    const java = readFileSync(`${javaOut}.hgrm`, 'utf8').split('\n');
    expect(java[0]).toMatch(/^#\[Overall percentile distribution/);
    expect(java[1]).toMatch(/^#\[StartTime: 1714607940\.000/);
    expect(readFileSync(ours, 'utf8')).toBe(java.slice(2).join('\n'));
  });

  it('reads µs values exactly (issue 16): 1.3, 4.9, 13.5, 58.9, 330 µs and 100 ms at p50 .. p99.99 and max, within 0.1%', async () => {
    const exactLog = join(dir, 'exact-2024-05-01.hlog');
    const writer = await HlogFileWriter.create(exactLog, T0);
    if (writer instanceof Error) throw writer;
    // each percentile's rank inside one value's run (Java's CSV has no p99.999 column)
    const runs: [keyof JavaTotals, number, number][] = [
      ['p50', 1_300, 50_500], ['p90', 4_900, 39_800], ['p99', 13_500, 8_800], ['p99_9', 58_900, 810], ['p99_99', 330_000, 85], ['max', 100_000_000, 5],
    ];
    const histogram = new LatencyHistogram();
    for (const [, valueNs, count] of runs) for (let i = 0; i < count; i++) histogram.record(valueNs);
    expect(await writer.append({ tag: 'rtt', startMs: T0, lengthMs: 10_000, maxNs: histogram.maxNs, histogram: histogram.histogram })).toBeNull();
    await writer.close();
    const java = await javaTotals(exactLog, join(dir, 'java-exact.csv'), 'rtt');
    expect(java.count).toBe(100_000);
    for (const [key, valueNs] of runs) expectWithinTenthPercent(java[key], valueNs);
  });

  it('and rtprobe report reads what Java writes: same counts and maxima per tag, untagged too', async () => {
    const javaLog = join(dir, 'java-written.hlog');
    await run('java', ['-cp', JAR, JAVA_WRITER, javaLog]);
    const result = await runCli(['report', javaLog, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as HlogReport;
    expect(report.malformed).toEqual({ 'bad-header': 0, 'bad-tag': 0, 'bad-number': 0, 'bad-payload': 0, 'torn-line': 0, 'bad-counts': 0 });
    expect(report.series.map((s) => s.tag)).toEqual(['rtt', 'turnaround', 'send_error', '']);
    for (const series of report.series) {
      const java = await javaTotals(javaLog, join(dir, `java-read-${series.tag || 'untagged'}.csv`), series.tag || null);
      expect([series.intervals, series.values_ns.count]).toEqual([java.intervals, java.count]);
      expectWithinTenthPercent(series.values_ns.max, java.max);
      expectWithinTenthPercent(series.values_ns.p99, java.p99);
    }
  });
});
