import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HlogDailyWriter, hlogDailyPath, hlogTargetName, utcDay, validateHlogTarget, type HlogDailyOptions,
} from '../../../controller/hlog/hlog-daily-writer.js';
import { parseHlogText } from '../../../controller/hlog/hlog-parser.js';
import { latencyHistogram } from './hlog-test-data.js';

const MIDNIGHT = Date.parse('2024-05-02T00:00:00Z');
let dir: string;
let events: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hlog-daily-'));
  events = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function open(nowMs: number, resume = false, extra: Partial<HlogDailyOptions> = {}): Promise<HlogDailyWriter> {
  const writer = await HlogDailyWriter.open({ dir, target: 'lab1', resume, nowMs, onEvent: (m) => events.push(m), ...extra });
  if (writer instanceof Error) throw writer;
  return writer;
}

function append(writer: HlogDailyWriter, startMs: number, tag = 'rtt'): Promise<Error | null> {
  const h = latencyHistogram([80_000]);
  return writer.append({ tag, startMs, lengthMs: 10_000, maxNs: h.maxNs, histogram: h.histogram });
}

function readDay(day: string): ReturnType<typeof parseHlogText> {
  return parseHlogText(readFileSync(join(dir, `lab1-${day}.hlog`), 'utf8'));
}

describe('HlogDailyWriter', () => {
  it('names files by target and UTC day', () => {
    expect(hlogDailyPath('/var/log/rt', 'lab1', MIDNIGHT - 1)).toBe('/var/log/rt/lab1-2024-05-01.hlog');
    expect(utcDay(MIDNIGHT)).toBe('2024-05-02');
    expect(validateHlogTarget('lab-1.pt_a')).toBeNull();
    for (const bad of ['', '../x', '.hidden', 'a/b', 'host:7707', 'a b']) {
      expect(validateHlogTarget(bad)).toBeInstanceOf(Error);
      expect(validateHlogTarget(hlogTargetName(bad))).toBeNull();
    }
    expect(hlogTargetName('127.0.0.1:7707')).toBe('127.0.0.1_7707');
    expect(hlogTargetName('[::1]:7707')).toBe('___1__7707');
  });

  it('switches file at the first interval starting after midnight UTC', async () => {
    // given a soak started at 23:59:30 with 10 s intervals (the clock injected as interval times)
    const writer = await open(MIDNIGHT - 30_000);
    expect(writer.path).toBeNull(); // files open with their first interval
    for (const start of [-30_000, -20_000, -10_000, 0, 10_000]) {
      for (const tag of ['rtt', 'ipdv']) expect(await append(writer, MIDNIGHT + start, tag)).toBeNull();
    }
    expect(writer.path).toBe(join(dir, 'lab1-2024-05-02.hlog'));
    await writer.close();
    expect(readdirSync(dir).sort()).toEqual(['lab1-2024-05-01.hlog', 'lab1-2024-05-02.hlog']);
    const before = readDay('2024-05-01');
    const after = readDay('2024-05-02');
    // the 23:59:50 interval ends at midnight and stays with the day it started on
    expect(before.intervals.map((i) => i.startMs - MIDNIGHT)).toEqual([-30_000, -30_000, -20_000, -20_000, -10_000, -10_000]);
    expect(after.intervals.map((i) => i.startMs - MIDNIGHT)).toEqual([0, 0, 10_000, 10_000]);
    expect(after.summary.startMs).toBe(MIDNIGHT);
    expect(after.summary.gaps).toEqual([]);
    expect(events).toEqual([`interval log: new day, now writing ${join(dir, 'lab1-2024-05-02.hlog')}`]);
  });

  it("refuses to start over today's file without --resume", async () => {
    writeFileSync(join(dir, 'lab1-2024-05-02.hlog'), 'x');
    const result = await HlogDailyWriter.open({ dir, target: 'lab1', resume: false, nowMs: MIDNIGHT + 5 });
    expect((result as Error).message).toMatch(/lab1-2024-05-02\.hlog exists: pass --resume/);
  });

  it('says at open when the directory cannot take logs', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    const result = await HlogDailyWriter.open({ dir: join(file, 'logs'), target: 'lab1', resume: false, nowMs: MIDNIGHT });
    expect((result as Error).message).toMatch(/cannot write interval logs to .*plain-file\/logs: .*\((ENOTDIR|EEXIST)\)/);
    const badTarget = await HlogDailyWriter.open({ dir, target: 'host:7707', resume: false, nowMs: MIDNIGHT });
    expect(badTarget).toBeInstanceOf(Error);
  });

  it("resumes today's file with a gap after a restart", async () => {
    const first = await open(MIDNIGHT + 1000);
    await append(first, MIDNIGHT);
    await append(first, MIDNIGHT + 10_000);
    await first.close();
    const second = await open(MIDNIGHT + 95_000, true);
    await append(second, MIDNIGHT + 100_000);
    await second.close();
    const { summary, intervals } = readDay('2024-05-02');
    expect(intervals.map((i) => i.startMs - MIDNIGHT)).toEqual([0, 10_000, 100_000]);
    expect(summary.gaps).toEqual([{ fromMs: MIDNIGHT + 20_000, toMs: MIDNIGHT + 100_000 }]);
    expect(events).toEqual([`interval log: resuming ${join(dir, 'lab1-2024-05-02.hlog')}, gap of 80.000 s recorded`]);
  });

  it('resume after a torn last line: the torn bytes are cut, every line before them kept byte for byte, the gap line and the event name them', async () => {
    const first = await open(MIDNIGHT + 1000);
    await append(first, MIDNIGHT);
    await append(first, MIDNIGHT + 10_000);
    await first.close();
    // a crash mid-write: the last line cut inside, no line end
    const path = join(dir, 'lab1-2024-05-02.hlog');
    const whole = readFileSync(path);
    const lastLineStart = whole.lastIndexOf(0x0a, whole.length - 2) + 1;
    const cutAt = lastLineStart + Math.floor((whole.length - 1 - lastLineStart) / 2);
    truncateSync(path, cutAt);
    const tornBytes = cutAt - lastLineStart;
    expect(readDay('2024-05-02').summary.malformed['torn-line']).toBe(1);

    const second = await open(MIDNIGHT + 95_000, true);
    await append(second, MIDNIGHT + 100_000);
    await second.close();
    const after = readFileSync(path);
    expect(after.subarray(0, lastLineStart).equals(whole.subarray(0, lastLineStart))).toBe(true);
    // the torn line's interval is gone: the gap starts where the one before it ended
    expect(after.subarray(lastLineStart).toString('utf8')).toMatch(new RegExp(
      `^#\\[Gap: from 1714608010\\.000 to 1714608100\\.000 \\(seconds since epoch\\), torn last line of ${tornBytes} bytes removed\\]\nTag=rtt,`));
    const { summary, intervals } = readDay('2024-05-02');
    expect(summary.problems).toEqual([]);
    expect(intervals.map((i) => i.startMs - MIDNIGHT)).toEqual([0, 100_000]);
    expect(summary.gaps).toEqual([{ fromMs: MIDNIGHT + 10_000, toMs: MIDNIGHT + 100_000 }]);
    expect(events).toEqual([`interval log: resuming ${path}, gap of 90.000 s recorded, torn last line (${tornBytes} bytes) removed`]);
  });

  it("resumed after midnight: today's new file records the gap since yesterday's last interval", async () => {
    const first = await open(MIDNIGHT - 60_000);
    await append(first, MIDNIGHT - 60_000);
    await first.close();
    const second = await open(MIDNIGHT + 3_600_000, true);
    await append(second, MIDNIGHT + 3_600_000);
    await second.close();
    expect(readDay('2024-05-01').summary.gaps).toEqual([]);
    const today = readDay('2024-05-02');
    expect(today.summary.gaps).toEqual([{ fromMs: MIDNIGHT - 50_000, toMs: MIDNIGHT + 3_600_000 }]);
    expect(today.intervals).toHaveLength(1);
  });

  it('keeps going after a failed file switch (the next interval retries)', async () => {
    let fail = true;
    const writer = await open(MIDNIGHT, false, {
      openFile: async (path, mode) => {
        if (fail) throw Object.assign(new Error('EROFS'), { code: 'EROFS' });
        return (await import('../../../controller/hlog/hlog-file.js')).openHlogFile(path, mode);
      },
    });
    expect((await append(writer, MIDNIGHT))?.message).toMatch(/read-only file system \(EROFS\)/);
    fail = false;
    expect(await append(writer, MIDNIGHT + 10_000)).toBeNull();
    await writer.close();
    expect(readDay('2024-05-02').intervals.map((i) => i.startMs - MIDNIGHT)).toEqual([10_000]);
  });

  it('kill -9 loses only the interval being written; resume keeps every acknowledged one', async () => {
    // given a writer in another process, killed while it appends as fast as it can
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./hlog-crash-child.ts', import.meta.url).pathname, dir]);
    let acked = 0;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    await new Promise<void>((resolve, reject) => {
      child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        acked = Math.max(acked, ...[...chunk.toString().matchAll(/acked (\d+)/g)].map((m) => Number(m[1])));
        if (acked >= 30) resolve();
      });
    });
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const crashed = parseHlogText(readFileSync(join(dir, 'crash-2024-05-01.hlog'), 'utf8'));
    // then every acknowledged interval is there, and at most a torn last line besides
    expect(crashed.intervals.length).toBeGreaterThanOrEqual(acked);
    expect(crashed.summary.malformed).toMatchObject({ 'bad-number': 0, 'bad-payload': 0, 'bad-tag': 0 });
    expect(crashed.summary.malformed['torn-line']).toBeLessThanOrEqual(1);
    const T0 = Date.parse('2024-05-01T10:00:00Z'); // the child's first interval
    crashed.intervals.forEach((interval, i) => expect(interval.startMs).toBe(T0 + i * 1000));

    const resumeAt = T0 + (crashed.intervals.length + 60) * 1000;
    const resumed = await HlogDailyWriter.open({ dir, target: 'crash', resume: true, nowMs: resumeAt });
    if (resumed instanceof Error) throw resumed;
    await append(resumed, resumeAt);
    await resumed.close();
    const after = parseHlogText(readFileSync(join(dir, 'crash-2024-05-01.hlog'), 'utf8'));
    expect(after.summary.problems).toEqual([]);
    expect(after.intervals).toHaveLength(crashed.intervals.length + 1);
    expect(after.summary.gaps).toEqual([{ fromMs: T0 + crashed.intervals.length * 1000, toMs: resumeAt }]);
  });
});
