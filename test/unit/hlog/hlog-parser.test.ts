import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeCompressedHistogram } from '../../../shared/histogram/histogram-codec.js';
import { formatHlogHeader } from '../../../controller/hlog/hlog-format.js';
import { parseHlogLine } from '../../../controller/hlog/hlog-line.js';
import { NO_FILTER, parseHlogText } from '../../../controller/hlog/hlog-parser.js';
import { jsHistogram } from './hlog-test-data.js';

const BASE_MS = 1_714_557_600_000; // 2024-05-01T10:00:00Z
const payload = (values: number[]): string => {
  const text = encodeCompressedHistogram(jsHistogram(values));
  if (text instanceof Error) throw text;
  return text;
};
const P = payload([50_000, 60_000]);
const header = formatHlogHeader(BASE_MS, BASE_MS);

describe('parseHlogLine', () => {
  it('classifies header, comment, legend, blank and interval lines', () => {
    expect(parseHlogLine('#[Histogram log format version 1.3]')).toEqual({ kind: 'version', version: '1.3' });
    expect(parseHlogLine('#[StartTime: 1714557600.000 (seconds since epoch), Wed May 01 10:00:00 UTC 2024]'))
      .toEqual({ kind: 'start-time', epochMs: BASE_MS });
    expect(parseHlogLine('#[BaseTime: 1714557600.500 (seconds since epoch)]')).toEqual({ kind: 'base-time', epochMs: BASE_MS + 500 });
    expect(parseHlogLine('#[Gap: from 1714557600.000 to 1714557660.000 (seconds since epoch)]'))
      .toEqual({ kind: 'gap', fromMs: BASE_MS, toMs: BASE_MS + 60_000 });
    expect(parseHlogLine('# anything else')).toEqual({ kind: 'comment' });
    expect(parseHlogLine('"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"')).toEqual({ kind: 'legend' });
    expect(parseHlogLine('')).toEqual({ kind: 'blank' });
    expect(parseHlogLine(`Tag=rtt,1.5,10.000,0.060,${P}\r`)).toEqual({ kind: 'interval', tag: 'rtt', startS: 1.5, lengthS: 10, maxMs: 0.06, payload: P });
    expect(parseHlogLine(`0.000,10.000,7.000,${P}`)).toMatchObject({ kind: 'interval', tag: '' });
  });

  it.each([
    ['#[StartTime: soon (seconds since epoch)]', 'bad-header'],
    ['#[BaseTime: -5 (seconds since epoch)]', 'bad-header'],
    ['#[Histogram log format version x]', 'bad-header'],
    ['#[Gap: from then to now]', 'bad-header'],
    [`Tag=,0.000,10.000,0.060,${P}`, 'bad-tag'],
    [`Tag=r t,0.000,10.000,0.060,${P}`, 'bad-tag'],
    ['Tag=rtt', 'bad-tag'],
    [`Tag=rtt,0.000,10.000,${P}`, 'bad-number'],
    [`Tag=rtt,zero,10.000,0.060,${P}`, 'bad-number'],
    [`Tag=rtt,0.000,-1,0.060,${P}`, 'bad-number'],
    [`Tag=rtt,0.000,10.000,NaN,${P}`, 'bad-number'],
    ['garbage', 'bad-number'],
    ['Tag=rtt,0.000,10.000,0.060,', 'bad-payload'],
  ])('%j is %s', (line, reason) => {
    expect(parseHlogLine(line)).toMatchObject({ kind: 'malformed', reason });
  });
});

describe('parseHlogText', () => {
  it('reads our own log: times relative to BaseTime, max from the line, histogram decoded', () => {
    const text = `${header}Tag=rtt,0.000,10.000,0.060,${P}\nTag=rtt,10.000,10.000,0.060,${P}\n`;
    const { summary, intervals } = parseHlogText(text);
    expect(intervals.map((i) => [i.tag, i.startMs, i.lengthMs, i.maxNs, i.histogram.totalCount, i.line]))
      .toEqual([['rtt', BASE_MS, 10_000, 60_000, 2, 5], ['rtt', BASE_MS + 10_000, 10_000, 60_000, 2, 6]]);
    expect(summary).toMatchObject({ version: '1.3', startMs: BASE_MS, baseMs: BASE_MS, lines: 6, intervals: 2, problems: [] });
    expect(Object.values(summary.malformed).every((n) => n === 0)).toBe(true);
  });

  it('counts every malformed reason with its line number and uses the rest', () => {
    const lines = [
      header.trimEnd(),
      '#[BaseTime: never]', // 5 bad-header
      `Tag=a b,0.000,10.000,0.060,${P}`, // 6 bad-tag
      `Tag=rtt,x,10.000,0.060,${P}`, // 7 bad-number
      'Tag=rtt,0.000,10.000,0.060,HISTFAAAAC!!', // 8 bad-payload (not base64)
      `Tag=rtt,0.000,10.000,0.060,${P.slice(0, 30)}`, // 9 bad-payload (cut)
      `Tag=rtt,20.000,10.000,0.060,${P}`, // 10 good
    ];
    const text = `${lines.join('\n')}\nTag=rtt,30.000,10.000,0.060,${P.slice(0, 20)}`; // 11 torn
    const { summary, intervals } = parseHlogText(text, NO_FILTER, 'x.hlog');
    expect(intervals.map((i) => i.line)).toEqual([10]);
    expect(summary.malformed).toEqual({ 'bad-header': 1, 'bad-tag': 1, 'bad-number': 1, 'bad-payload': 2, 'torn-line': 1, 'bad-counts': 0 });
    expect(summary.problems.map((p) => [p.line, p.reason])).toEqual([
      [5, 'bad-header'], [6, 'bad-tag'], [7, 'bad-number'], [8, 'bad-payload'], [9, 'bad-payload'], [11, 'torn-line'],
    ]);
    expect(summary.problems[0]?.file).toBe('x.hlog');
  });

  it('never uses a last line without its newline, even one that would parse', () => {
    const { summary, intervals } = parseHlogText(`${header}Tag=rtt,0.000,10.000,0.060,${P}`);
    expect(intervals).toEqual([]);
    expect(summary.malformed['torn-line']).toBe(1);
  });

  it('keeps at most 20 problems but counts them all', () => {
    const { summary } = parseHlogText(`${header}${'junk\n'.repeat(50)}`);
    expect(summary.malformed['bad-number']).toBe(50);
    expect(summary.problems).toHaveLength(20);
  });

  it('follows Java without BaseTime: absolute starts, or relative to StartTime when over a year before it', () => {
    const start = `#[Histogram log format version 1.3]\n#[StartTime: ${BASE_MS / 1000}.000 (seconds since epoch), x]\n`;
    const relative = parseHlogText(`${start}\n"StartTimestamp"\nTag=rtt,5.000,10.000,0.060,${P}\n`);
    expect(relative.intervals[0]?.startMs).toBe(BASE_MS + 5000);
    const absolute = parseHlogText(`${start}Tag=rtt,${BASE_MS / 1000 + 5}.000,10.000,0.060,${P}\n`);
    expect(absolute.intervals[0]?.startMs).toBe(BASE_MS + 5000);
  });

  it('filters by tag and by start time in [from, to), counting what it leaves out', () => {
    const text = `${header}${[0, 10, 20, 30].flatMap((s) => ['rtt', 'ipdv'].map((tag) => `Tag=${tag},${s}.000,10.000,0.060,${P}\n`)).join('')}`;
    const { summary, intervals } = parseHlogText(text, { fromMs: BASE_MS + 10_000, toMs: BASE_MS + 30_000, tags: new Set(['rtt']) });
    expect(intervals.map((i) => i.startMs - BASE_MS)).toEqual([10_000, 20_000]);
    expect(summary).toMatchObject({ otherTag: 4, outOfRange: 2, tagsSeen: ['ipdv', 'rtt'] });
  });

  it('collects recorded gaps', () => {
    const text = `${header}#[Gap: from 1714557610.000 to 1714557670.000 (seconds since epoch), torn last line of 9 bytes removed]\n`;
    expect(parseHlogText(text).summary.gaps).toEqual([{ fromMs: BASE_MS + 10_000, toMs: BASE_MS + 70_000 }]);
  });

  it("reads a log HdrHistogram's Java HistogramLogWriter wrote", () => {
    const text = readFileSync(new URL('../../fixtures/hlog/java-written.hlog', import.meta.url), 'utf8');
    const { summary, intervals } = parseHlogText(text);
    expect(summary.startMs).toBe(1_700_000_000_123);
    expect(summary.tagsSeen).toEqual(['', 'rtt', 'send_error', 'turnaround']);
    expect(intervals).toHaveLength(10);
    // JavaHlogWriter.java: tag t, interval i = 100 values from (t+1)*50 µs + a spike of 2 ms*(i+1)
    const rtt = intervals.filter((i) => i.tag === 'rtt');
    expect(rtt.map((i) => [i.startMs - 1_700_000_000_123, i.histogram.totalCount])).toEqual([[0, 101], [10_000, 101], [20_000, 101]]);
    expect(rtt.map((i) => i.histogram.getValueAtPercentile(100))).toEqual(
      [2e6, 4e6, 6e6].map((v) => jsHistogram([v]).getValueAtPercentile(100)));
    expect(intervals.find((i) => i.tag === '')?.histogram.totalCount).toBe(5);
  });
});
