import { describe, expect, it } from 'vitest';
import {
  formatHlogGapLine, formatHlogHeader, formatHlogIntervalLine, formatJavaDateUtc, formatSeconds, validateHlogTag,
} from '../../../controller/hlog/hlog-format.js';

describe('formatHlogHeader', () => {
  it("is Java's HistogramLogWriter header, line for line", () => {
    // given what HistogramLogWriter 2.1.11 wrote for StartTime = BaseTime = 1700000000123 ms (TZ=UTC)
    const java = [
      '#[Histogram log format version 1.3]',
      '#[StartTime: 1700000000.123 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]',
      '#[BaseTime: 1700000000.123 (seconds since epoch)]',
      '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"',
      '',
    ].join('\n');
    expect(formatHlogHeader(1_700_000_000_123, 1_700_000_000_123)).toBe(java);
  });

  it('pads the day of the month as java.util.Date does', () => {
    expect(formatJavaDateUtc(Date.parse('2024-05-01T09:05:07Z'))).toBe('Wed May 01 09:05:07 UTC 2024');
  });
});

describe('formatHlogIntervalLine', () => {
  it('writes start relative to BaseTime, length, max in ms, payload', () => {
    const line = formatHlogIntervalLine({ tag: 'rtt', startMs: 1_700_000_010_123, lengthMs: 10_000, maxNs: 5_001_215, payload: 'HISTFAAA' }, 1_700_000_000_123);
    expect(line).toBe('Tag=rtt,10.000,10.000,5.001215,HISTFAAA\n');
  });

  it('writes the max exact to the ns (6 decimals of ms), a fraction of a ns rounded up', () => {
    const line = (maxNs: number): string => formatHlogIntervalLine({ tag: 't', startMs: 0, lengthMs: 1000, maxNs, payload: 'P' }, 0);
    expect(line(149_028)).toBe('Tag=t,0.000,1.000,0.149028,P\n');
    expect(line(1_300)).toBe('Tag=t,0.000,1.000,0.001300,P\n');
    expect(line(1)).toBe('Tag=t,0.000,1.000,0.000001,P\n');
    expect(line(1_300.2)).toBe('Tag=t,0.000,1.000,0.001301,P\n');
    expect(line(70_000_000_000)).toBe('Tag=t,0.000,1.000,70000.000000,P\n');
    // an empty interval: LatencyHistogram's max is -Infinity
    expect(line(Number.NEGATIVE_INFINITY)).toBe('Tag=t,0.000,1.000,0.000,P\n');
  });

  it('formats seconds from integer ms (no 1.0005 → 1.000 float rounding), negative too', () => {
    expect(formatSeconds(1000.5)).toBe('1.001');
    expect(formatSeconds(999)).toBe('0.999');
    expect(formatSeconds(-1500)).toBe('-1.500');
    expect(formatSeconds(1_714_557_600_000)).toBe('1714557600.000');
  });
});

describe('formatHlogGapLine', () => {
  it('is a comment Java skips, in epoch seconds', () => {
    expect(formatHlogGapLine(1_714_557_610_000, 1_714_557_730_500)).toBe('#[Gap: from 1714557610.000 to 1714557730.500 (seconds since epoch)]\n');
    expect(formatHlogGapLine(0, 1000, 'torn last line of 57 bytes removed'))
      .toBe('#[Gap: from 0.000 to 1.000 (seconds since epoch), torn last line of 57 bytes removed]\n');
  });
});

describe('validateHlogTag', () => {
  it.each(['rtt', 'turnaround', 'send_error', 'ipdv', 'a.b-c'])('accepts %s', (tag) => {
    expect(validateHlogTag(tag)).toBeNull();
  });
  it.each(['', 'r t', 'a,b', 'a=b', 'tab\t', 'é', 'x'.repeat(65)])('refuses %j', (tag) => {
    expect(validateHlogTag(tag)).toBeInstanceOf(Error);
  });
});
