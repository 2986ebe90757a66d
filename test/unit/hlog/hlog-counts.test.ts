import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatHlogCountsLine, parseHlogCountsLine, validateHlogCounts, type HlogCounts } from '../../../controller/hlog/hlog-counts.js';
import { HlogDailyWriter } from '../../../controller/hlog/hlog-daily-writer.js';
import { formatHlogHeader } from '../../../controller/hlog/hlog-format.js';
import { parseHlogLine } from '../../../controller/hlog/hlog-line.js';
import { parseHlogText } from '../../../controller/hlog/hlog-parser.js';
import { latencyHistogram } from './hlog-test-data.js';

const BASE_MS = 1_714_557_600_000; // 2024-05-01T10:00:00Z
const COUNTS: HlogCounts = { startMs: BASE_MS + 10_000, lengthMs: 10_000, sent: 100, received: 97, lost: 3, late: 1, alerts: ['max-rtt', 'loss'] };
const GOLDEN = '#[rtprobe-interval: start=1714557610.000 length=10.000 sent=100 received=97 lost=3 late=1 alerts=max-rtt,loss]\n';

describe('rtprobe-interval counts line', () => {
  it('has the golden form, a comment to Java', () => {
    expect(formatHlogCountsLine(COUNTS)).toBe(GOLDEN);
    expect(formatHlogCountsLine({ ...COUNTS, alerts: [] })).toContain(' alerts=-]\n');
  });

  it('round-trips, with and without alerts, ms precision', () => {
    for (const counts of [COUNTS, { ...COUNTS, alerts: [], startMs: BASE_MS + 1, lengthMs: 999 }]) {
      expect(parseHlogCountsLine(formatHlogCountsLine(counts).slice(0, -1))).toEqual(counts);
      expect(parseHlogLine(formatHlogCountsLine(counts).slice(0, -1))).toEqual({ kind: 'counts', counts });
    }
  });

  it.each([
    '#[rtprobe-interval: start=x length=10.000 sent=1 received=1 lost=0 late=0 alerts=-]',
    '#[rtprobe-interval: start=1714557610.000 length=10.000 sent=-1 received=1 lost=0 late=0 alerts=-]',
    '#[rtprobe-interval: start=1714557610.000 length=10.000 sent=1 received=1 lost=0 late=0]',
    '#[rtprobe-interval: start=1714557610.000 length=10.000 sent=1 received=1 lost=0 late=0 alerts=Max!]',
    '#[rtprobe-interval: start=1714557610.000 length=10.000 sent=99999999999999999999 received=1 lost=0 late=0 alerts=-]',
    '#[rtprobe-interval: garbage',
  ])('%j is malformed: bad-counts', (line) => {
    expect(parseHlogLine(line)).toMatchObject({ kind: 'malformed', reason: 'bad-counts' });
  });

  it('refuses to write what it could not read back', () => {
    expect(validateHlogCounts(COUNTS)).toBeNull();
    expect(validateHlogCounts({ ...COUNTS, lost: 1.5 })?.message).toMatch(/lost 1.5 is not a count/);
    expect(validateHlogCounts({ ...COUNTS, alerts: ['max rtt]'] })?.message).toMatch(/alert kind/);
    expect(validateHlogCounts({ ...COUNTS, startMs: Number.NaN })?.message).toMatch(/not times/);
    expect(validateHlogCounts({ ...COUNTS, lengthMs: 1e300 })?.message).toMatch(/not times/);
  });

  it('refuses start or length beyond 2^53 ms when reading (Infinity, or not written back the same)', () => {
    const line = (start: string, length: string) =>
      `#[rtprobe-interval: start=${start} length=${length} sent=1 received=1 lost=0 late=0 alerts=-]`;
    expect(parseHlogCountsLine(line('9'.repeat(400), '10.000'))).toBe('start or length is not a time');
    expect(parseHlogCountsLine(line('1700000000.000', `1${'0'.repeat(300)}`))).toBe('start or length is not a time');
    expect(parseHlogCountsLine(line('1700000000.000', '10.000'))).toMatchObject({ startMs: 1_700_000_000_000, lengthMs: 10_000 });
  });

  it('the parser hands counts on with the target, filtered by --from/--to, and counts malformed ones with the line number', () => {
    const text = `${formatHlogHeader(BASE_MS, BASE_MS)}${formatHlogCountsLine({ ...COUNTS, startMs: BASE_MS })}${GOLDEN}`
      + '#[rtprobe-interval: start=oops]\n';
    const all = parseHlogText(text, { fromMs: null, toMs: null, tags: null }, 'f.hlog', 'lab1');
    expect(all.counts.map((c) => [c.target, c.startMs, c.line])).toEqual([['lab1', BASE_MS, 5], ['lab1', BASE_MS + 10_000, 6]]);
    expect(all.summary.counts).toBe(2);
    expect(all.summary.malformed['bad-counts']).toBe(1);
    expect(all.summary.problems).toMatchObject([{ line: 7, reason: 'bad-counts' }]);
    const late = parseHlogText(text, { fromMs: BASE_MS + 5_000, toMs: null, tags: null });
    expect(late.counts.map((c) => c.startMs)).toEqual([BASE_MS + 10_000]);
    expect(late.intervals).toEqual([]);
  });

  it('HlogDailyWriter.appendInterval writes an interval\'s tag lines, then its counts line, together or not at all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hlog-counts-'));
    try {
      const writer = await HlogDailyWriter.open({ dir, target: 'lab1', resume: false, nowMs: BASE_MS });
      if (writer instanceof Error) throw writer;
      const h = latencyHistogram([80_000]);
      const line = (tag: string, startMs: number) => ({ tag, startMs, lengthMs: 10_000, maxNs: h.maxNs, histogram: h.histogram });
      const pending = [
        writer.appendInterval([line('rtt', BASE_MS), line('send_error', BASE_MS)], { ...COUNTS, startMs: BASE_MS }),
        // one bad part refuses the whole interval: nothing of it reaches the file
        writer.appendInterval([line('rtt', BASE_MS + 10_000), line('bad,tag', BASE_MS + 10_000)], COUNTS),
        writer.appendInterval([line('rtt', BASE_MS + 10_000)], COUNTS),
      ];
      const results = await Promise.all(pending);
      expect(results[0]).toBeNull();
      expect(results[1]).toBeInstanceOf(Error);
      expect(results[2]).toBeNull();
      expect(await writer.appendInterval([line('rtt', BASE_MS + 20_000)], { ...COUNTS, sent: -1 })).toBeInstanceOf(Error);
      expect(await writer.appendInterval([line('rtt', BASE_MS + 20_000)], { ...COUNTS, lost: -1 })).toBeInstanceOf(Error);
      await writer.close();
      const text = readFileSync(join(dir, 'lab1-2024-05-01.hlog'), 'utf8');
      expect(text.split('\n').slice(4).map((l) => l.slice(0, 20))).toEqual(
        ['Tag=rtt,0.000,10.000', 'Tag=send_error,0.000', '#[rtprobe-interval: ', 'Tag=rtt,10.000,10.00', '#[rtprobe-interval: ', '']);
      const read = parseHlogText(text);
      expect(read.intervals.map((i) => i.tag)).toEqual(['rtt', 'send_error', 'rtt']);
      expect(read.counts.map((c) => c.alerts)).toEqual([['max-rtt', 'loss'], ['max-rtt', 'loss']]);
      expect(Object.values(read.summary.malformed).every((n) => n === 0)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
