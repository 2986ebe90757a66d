import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openHlogFile, type HlogFile, type OpenHlogFile } from '../../../controller/hlog/hlog-file.js';
import { formatHlogHeader } from '../../../controller/hlog/hlog-format.js';
import { parseHlogText, type HlogReadInterval } from '../../../controller/hlog/hlog-parser.js';
import { HlogFileWriter } from '../../../controller/hlog/hlog-writer.js';
import { countsOf, jsHistogram, latencyHistogram, spreadValues } from './hlog-test-data.js';

const T0 = 1_714_557_600_000; // 2024-05-01T10:00:00Z
const TAGS = ['rtt', 'turnaround', 'send_error'];
let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hlog-writer-'));
  path = join(dir, 'lab1-2024-05-01.hlog');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function create(at = T0, openFile?: OpenHlogFile): Promise<HlogFileWriter> {
  const writer = await HlogFileWriter.create(path, at, openFile);
  if (writer instanceof Error) throw writer;
  return writer;
}

function read(): ReturnType<typeof parseHlogText> {
  return parseHlogText(readFileSync(path, 'utf8'), undefined, path);
}

async function appendInterval(writer: HlogFileWriter, index: number, tag = 'rtt', values = [50_000 + index]): Promise<Error | null> {
  const h = latencyHistogram(values);
  return writer.append({ tag, startMs: T0 + index * 10_000, lengthMs: 10_000, maxNs: h.maxNs, histogram: h.histogram });
}

/** Real files, with the n-th write failing (part of it written first) and truncate failing on demand. */
function faulty(plan: { failWrite: number; code: string; partialBytes?: number; failTruncate?: number }): OpenHlogFile & { calls: string[] } {
  const calls: string[] = [];
  let writes = 0;
  let truncates = 0;
  const open = async (p: string, mode: 'create' | 'append'): Promise<HlogFile> => {
    const real = await openHlogFile(p, mode);
    const fail = (): never => { throw Object.assign(new Error(`${plan.code}: simulated`), { code: plan.code }); };
    return {
      ...real,
      write: async (data, position) => {
        calls.push('write');
        if (++writes === plan.failWrite) {
          await real.write(data.subarray(0, plan.partialBytes ?? 0), position);
          fail();
        }
        await real.write(data, position);
      },
      sync: async () => { calls.push('sync'); await real.sync(); },
      truncate: async (length) => {
        calls.push('truncate');
        if (++truncates <= (plan.failTruncate ?? 0)) fail();
        await real.truncate(length);
      },
    };
  };
  return Object.assign(open, { calls });
}

describe('HlogFileWriter', () => {
  it('round-trips 3 tags × 4 intervals: identical counts and percentiles, max exact to the ns', async () => {
    const writer = await create();
    const written: { tag: string; values: number[] }[] = [];
    for (let i = 0; i < 4; i++) {
      for (const [t, tag] of TAGS.entries()) {
        const values = spreadValues(2000, i * 10 + t + 1);
        written.push({ tag, values });
        expect(await appendInterval(writer, i, tag, values)).toBeNull();
      }
    }
    await writer.close();
    const { summary, intervals } = read();
    expect(summary.problems).toEqual([]);
    expect(intervals).toHaveLength(12);
    intervals.forEach((interval: HlogReadInterval, n) => {
      const expected = written[n];
      if (!expected) throw new Error('missing');
      const original = latencyHistogram(expected.values);
      expect(interval.tag).toBe(expected.tag);
      expect(interval.startMs).toBe(T0 + Math.floor(n / 3) * 10_000);
      expect(countsOf(interval.histogram)).toEqual(countsOf(original.histogram as ReturnType<typeof jsHistogram>));
      for (const p of [50, 90, 99, 99.9, 99.99, 100]) {
        expect(interval.histogram.getValueAtPercentile(p)).toBe(original.histogram.getValueAtPercentile(p));
      }
      expect(interval.maxNs).toBe(original.maxNs);
    });
  });

  it('writes each line with one write and one fsync, in append order, encoding before append returns', async () => {
    const open = faulty({ failWrite: 0, code: 'EIO' });
    const writer = await create(T0, open);
    expect(open.calls).toEqual(['write', 'sync']); // the header
    open.calls.length = 0;
    const h = latencyHistogram([70_000]);
    const pending = [0, 1, 2].map((i) => writer.append({ tag: 'rtt', startMs: T0 + i * 10_000, lengthMs: 10_000, maxNs: h.maxNs, histogram: h.histogram }));
    h.reset(); // the soak resets its interval histogram as soon as append returns
    expect(await Promise.all(pending)).toEqual([null, null, null]);
    await writer.close();
    expect(open.calls).toEqual(['write', 'sync', 'write', 'sync', 'write', 'sync']);
    expect(read().intervals.map((i) => [i.startMs - T0, i.histogram.totalCount])).toEqual([[0, 1], [10_000, 1], [20_000, 1]]);
  });

  it('refuses a bad tag or time as a value', async () => {
    const writer = await create();
    const h = jsHistogram([1000]);
    expect(await writer.append({ tag: 'a,b', startMs: T0, lengthMs: 1, maxNs: 1000, histogram: h })).toBeInstanceOf(Error);
    expect(await writer.append({ tag: 'rtt', startMs: Number.NaN, lengthMs: 1, maxNs: 1000, histogram: h })).toBeInstanceOf(Error);
    await writer.close();
    expect(read().intervals).toEqual([]);
  });

  it('does not overwrite an existing log', async () => {
    writeFileSync(path, 'precious');
    const result = await HlogFileWriter.create(path, T0);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/already exists \(EEXIST\)/);
    expect(readFileSync(path, 'utf8')).toBe('precious');
  });

  it('says why a directory cannot take a log', async () => {
    const result = await HlogFileWriter.create(join(dir, 'missing', 'x.hlog'), T0);
    expect((result as Error).message).toMatch(/cannot create interval log .*no such file or directory \(ENOENT\)/);
  });

  it('on a full disk: the append fails with a clear message, the half-written line is cut off, later appends go on', async () => {
    // the 3rd write (2nd interval) fails after 20 bytes: ENOSPC
    const open = faulty({ failWrite: 3, code: 'ENOSPC', partialBytes: 20 });
    const writer = await create(T0, open);
    expect(await appendInterval(writer, 0)).toBeNull();
    const error = await appendInterval(writer, 1);
    expect(error?.message).toMatch(/cannot write to interval log .*: disk full \(ENOSPC\); the intervals written before are intact/);
    const afterFailure = read();
    expect(afterFailure.summary.malformed).toMatchObject({ 'torn-line': 0, 'bad-payload': 0, 'bad-number': 0 });
    expect(afterFailure.intervals.map((i) => i.startMs - T0)).toEqual([0]);
    expect(await appendInterval(writer, 2)).toBeNull();
    await writer.close();
    expect(read().intervals.map((i) => i.startMs - T0)).toEqual([0, 20_000]);
  });

  it('when cutting the torn bytes off fails too (EROFS), it retries before the next line', async () => {
    const open = faulty({ failWrite: 2, code: 'EROFS', partialBytes: 30, failTruncate: 1 });
    const writer = await create(T0, open);
    expect((await appendInterval(writer, 0))?.message).toMatch(/read-only file system \(EROFS\)/);
    expect(read().summary.malformed['torn-line']).toBe(1); // what a reader sees meanwhile
    expect(await appendInterval(writer, 1)).toBeNull();
    await writer.close();
    const { summary, intervals } = read();
    expect(summary.problems).toEqual([]);
    expect(intervals.map((i) => i.startMs - T0)).toEqual([10_000]);
  });
});

describe('HlogFileWriter.resume', () => {
  it('keeps header and BaseTime, records the gap, continues', async () => {
    const first = await create();
    for (const i of [0, 1]) await appendInterval(first, i);
    await first.close();
    const resumed = await HlogFileWriter.resume(path, T0 + 80_000);
    if (resumed instanceof Error) throw resumed;
    expect(resumed.info).toEqual({ lastEndMs: T0 + 20_000, gapMs: 60_000, tornBytes: 0 });
    expect(resumed.writer.baseMs).toBe(T0);
    await appendInterval(resumed.writer, 8);
    await resumed.writer.close();
    const text = readFileSync(path, 'utf8');
    expect(text.match(/#\[Histogram log format/g)).toHaveLength(1);
    expect(text).toContain('#[Gap: from 1714557620.000 to 1714557680.000 (seconds since epoch)]\n');
    const { summary, intervals } = read();
    expect(intervals.map((i) => i.startMs - T0)).toEqual([0, 10_000, 80_000]);
    expect(summary.gaps).toEqual([{ fromMs: T0 + 20_000, toMs: T0 + 80_000 }]);
  });

  it('cuts off a torn last line (kill -9 mid-write) and says so in the gap line', async () => {
    const first = await create();
    await appendInterval(first, 0);
    await first.close();
    appendFileSync(path, 'Tag=rtt,10.000,10.000,0.060,HISTFAAAAC942pNp');
    expect(read().summary.malformed['torn-line']).toBe(1);
    const resumed = await HlogFileWriter.resume(path, T0 + 30_000);
    if (resumed instanceof Error) throw resumed;
    expect(resumed.info.tornBytes).toBe(44);
    await appendInterval(resumed.writer, 3);
    await resumed.writer.close();
    const { summary, intervals } = read();
    expect(summary.problems).toEqual([]);
    expect(intervals.map((i) => i.startMs - T0)).toEqual([0, 30_000]);
    expect(readFileSync(path, 'utf8')).toContain('to 1714557630.000 (seconds since epoch), torn last line of 44 bytes removed]\n');
  });

  it('writes no gap when the next interval follows on, and measures a second restart from the first gap', async () => {
    const first = await create();
    await appendInterval(first, 0);
    await first.close();
    const noGap = await HlogFileWriter.resume(path, T0 + 10_000);
    if (noGap instanceof Error) throw noGap;
    expect(noGap.info.gapMs).toBe(0);
    await noGap.writer.close();
    const once = await HlogFileWriter.resume(path, T0 + 40_000);
    if (once instanceof Error) throw once;
    await once.writer.close(); // crashed again before an interval closed
    const twice = await HlogFileWriter.resume(path, T0 + 100_000);
    if (twice instanceof Error) throw twice;
    await twice.writer.close();
    expect(read().summary.gaps).toEqual([{ fromMs: T0 + 10_000, toMs: T0 + 40_000 }, { fromMs: T0 + 40_000, toMs: T0 + 100_000 }]);
  });

  it('writes a fresh header over a torn one, and refuses a file that is not a log', async () => {
    writeFileSync(path, formatHlogHeader(T0, T0).slice(0, 60));
    const resumed = await HlogFileWriter.resume(path, T0 + 5000);
    if (resumed instanceof Error) throw resumed;
    await appendInterval(resumed.writer, 1);
    await resumed.writer.close();
    expect(read().summary).toMatchObject({ startMs: T0 + 5000, intervals: 1, problems: [] });

    writeFileSync(path, 'my notes\n');
    const refused = await HlogFileWriter.resume(path, T0);
    expect((refused as Error).message).toMatch(/not an HdrHistogram interval log/);
    expect(readFileSync(path, 'utf8')).toBe('my notes\n');
  });

  it("continues a log without BaseTime in the log's own time convention", async () => {
    // hdr-histogram-js's writer: no BaseTime, starts relative to StartTime
    writeFileSync(path, `#[Histogram log format version 1.3]\n#[StartTime: ${T0 / 1000}.000 (seconds since epoch), x]\n\n`
      + `"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"\n`);
    const resumed = await HlogFileWriter.resume(path, T0 + 10_000);
    if (resumed instanceof Error) throw resumed;
    expect(resumed.writer.baseMs).toBe(T0);
    await appendInterval(resumed.writer, 1);
    await resumed.writer.close();
    expect(read().intervals.map((i) => i.startMs)).toEqual([T0 + 10_000]);
  });
});
