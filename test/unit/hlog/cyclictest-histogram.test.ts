import type { JsHistogram } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { formatCyclictestHistogram } from '../../../controller/hlog/cyclictest-histogram.js';
import { latencyHistogram } from './hlog-test-data.js';

function cyclictest(valuesNs: number[], maxBuckets?: number): string {
  const h = latencyHistogram(valuesNs);
  return formatCyclictestHistogram(h.histogram as JsHistogram, h.summary(), maxBuckets);
}

const zeroRows = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `${String(from + i).padStart(6, '0')} 000000`);

describe('formatCyclictestHistogram', () => {
  it("prints cyclictest -h's text: %06d rows with a space, %09 total, %05 min/avg/max/overflows", () => {
    const text = cyclictest([5_200, 5_200, 7_900, 12_000, 12_000, 12_000]);
    expect(text).toBe([
      '# Histogram',
      ...zeroRows(0, 4),
      '000005 000002',
      '000006 000000',
      '000007 000001',
      ...zeroRows(8, 11),
      '000012 000003',
      '# Total: 000000006',
      '# Min Latencies: 00005',
      '# Avg Latencies: 00009',
      '# Max Latencies: 00012',
      '# Histogram Overflows: 00000',
      '# Histogram Overflow at cycle number:',
      '# Thread 0:',
      '',
      '',
    ].join('\n'));
  });

  it('counts samples at or above the last row as overflows, outside the total (as cyclictest does)', () => {
    const text = cyclictest([5_200, 5_200, 7_900, 12_000, 12_000, 12_000], 10);
    expect(text).toContain('000009 000000\n# Total: 000000003\n');
    expect(text).toContain('# Max Latencies: 00012\n# Histogram Overflows: 00003\n');
    expect(text).toContain('# Thread 0: # 00003 others\n');
    expect(text.split('\n').filter((line) => /^\d{6} \d+$/.test(line))).toHaveLength(10);
  });

  it('keeps a wide bucket within the exact min..max (5 ms lands on the 5000 µs row, not 4999)', () => {
    const rows = cyclictest([5_000_000]).split('\n').filter((line) => /^\d{6} 0*[1-9]/.test(line));
    expect(rows).toEqual(['005000 000001']);
  });

  it('prints no rows for an empty histogram', () => {
    expect(cyclictest([])).toBe('# Histogram\n# Total: 000000000\n# Min Latencies: 00000\n# Avg Latencies: 00000\n'
      + '# Max Latencies: 00000\n# Histogram Overflows: 00000\n# Histogram Overflow at cycle number:\n# Thread 0:\n\n');
  });
});
