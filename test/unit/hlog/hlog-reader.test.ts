import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCompressedHistogram } from '../../../shared/histogram/histogram-codec.js';
import { formatHlogHeader } from '../../../controller/hlog/hlog-format.js';
import { NO_FILTER, type HlogReadInterval } from '../../../controller/hlog/hlog-parser.js';
import { hlogTargetOf, readHlogPaths } from '../../../controller/hlog/hlog-reader.js';
import { jsHistogram } from './hlog-test-data.js';

const DAY1 = Date.parse('2024-05-01T00:00:00Z');
const DAY = 86_400_000;
let dir: string;

beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'hlog-reader-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function logText(startMs: number, starts: number[], tail = ''): string {
  const payload = encodeCompressedHistogram(jsHistogram([90_000]));
  if (payload instanceof Error) throw payload;
  return formatHlogHeader(startMs, startMs) + starts.map((s) => `Tag=rtt,${s}.000,10.000,0.090,${payload}\n`).join('') + tail;
}

async function readAll(paths: string[], filter = NO_FILTER) {
  const intervals: HlogReadInterval[] = [];
  const result = await readHlogPaths(paths, filter, (interval) => intervals.push(interval));
  return { result, intervals };
}

describe('readHlogPaths', () => {
  it('names targets after the file, without the day', () => {
    expect(hlogTargetOf('/x/lab1-2024-05-01.hlog')).toBe('lab1');
    expect(hlogTargetOf('/x/rtp-pt-2024-05-01.hlog')).toBe('rtp-pt');
    expect(hlogTargetOf('jhiccup.hlog')).toBe('jhiccup');
  });

  it("reads a directory's .hlog files in name order, counting per file", async () => {
    writeFileSync(join(dir, 'b-2024-05-01.hlog'), logText(DAY1, [0, 10]));
    writeFileSync(join(dir, 'a-2024-05-02.hlog'), logText(DAY1 + DAY, [0], 'Tag=rtt,10.000,1'));
    writeFileSync(join(dir, 'a-2024-05-01.hlog'), logText(DAY1, [0]));
    writeFileSync(join(dir, 'notes.txt'), 'not a log');
    const { result, intervals } = await readAll([dir]);
    if (result instanceof Error) throw result;
    expect(result.files.map((f) => [f.target, f.intervals, f.malformed['torn-line']])).toEqual([['a', 1, 0], ['a', 1, 1], ['b', 2, 0]]);
    expect(intervals.map((i) => [i.target, i.startMs - DAY1])).toEqual([['a', 0], ['a', DAY], ['b', 0], ['b', 10_000]]);
  });

  it('streams a large file in constant memory (lines split across read chunks)', async () => {
    const starts = Array.from({ length: 3000 }, (_, i) => i * 10);
    writeFileSync(join(dir, 'big.hlog'), logText(DAY1, starts));
    let count = 0;
    const result = await readHlogPaths([join(dir, 'big.hlog')], NO_FILTER, () => { count++; });
    if (result instanceof Error) throw result;
    expect(count).toBe(3000);
    expect(result.files[0]?.problems).toEqual([]);
  });

  it("skips daily files whose day lies outside --from/--to, unread", async () => {
    for (const day of [0, 1, 2]) writeFileSync(join(dir, `lab-2024-05-0${day + 1}.hlog`), logText(DAY1 + day * DAY, [0, 43_200]));
    const { result, intervals } = await readAll([dir], { fromMs: DAY1 + DAY + 1000, toMs: DAY1 + 2 * DAY, tags: null });
    if (result instanceof Error) throw result;
    expect(result.skippedFiles.map((f) => [f.file.slice(-19), f.reason])).toEqual([
      ['lab-2024-05-01.hlog', 'outside the time range'], ['lab-2024-05-03.hlog', 'outside the time range']]);
    expect(intervals.map((i) => i.startMs - DAY1 - DAY)).toEqual([43_200_000]);
    expect(result.files[0]?.outOfRange).toBe(1);
  });

  it('reads only the files of the targets asked for', async () => {
    writeFileSync(join(dir, 'a-2024-05-01.hlog'), logText(DAY1, [0]));
    writeFileSync(join(dir, 'b-2024-05-01.hlog'), logText(DAY1, [0]));
    const { result, intervals } = await readAll([dir], { ...NO_FILTER, targets: new Set(['b']) });
    if (result instanceof Error) throw result;
    expect(intervals.map((i) => i.target)).toEqual(['b']);
    expect(result.skippedFiles.map((f) => f.reason)).toEqual(['another target']);
  });

  it('answers a missing path or an empty directory with an Error', async () => {
    expect(((await readAll([join(dir, 'nope.hlog')])).result as Error).message).toMatch(/nope\.hlog: no such file or directory \(ENOENT\)/);
    mkdirSync(join(dir, 'empty'));
    expect(((await readAll([join(dir, 'empty')])).result as Error).message).toMatch(/empty: no \.hlog files in this directory/);
  });

  it("reads the Java-written fixture", async () => {
    const { result, intervals } = await readAll([new URL('../../fixtures/hlog/java-written.hlog', import.meta.url).pathname],
      { fromMs: null, toMs: null, tags: new Set(['turnaround']) });
    if (result instanceof Error) throw result;
    expect(intervals.map((i) => i.histogram.totalCount)).toEqual([101, 101, 101]);
    expect(result.files[0]).toMatchObject({ target: 'java-written', otherTag: 7 });
  });
});
