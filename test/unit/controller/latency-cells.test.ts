import { describe, expect, it } from 'vitest';
import { columnUnit, formatNsIn, latencyCell, samplesToResolve, unresolvedReason } from '../../../controller/report/latency-cells.js';

describe('latency cells of the HTML tables', () => {
  it('picks the column unit from its largest value, with formatNs\'s thresholds', () => {
    expect(columnUnit([12_300, 8_889_200])).toBe('µs');
    expect(columnUnit([12_300, 8_889_200, 11_986_000])).toBe('ms');
    expect(columnUnit([null, 1_500_000_000])).toBe('s');
    expect(columnUnit([null, null])).toBe('µs');
    expect(columnUnit([-20_000_000, 5])).toBe('ms'); // a negative difference is as wide as a positive one
  });

  it('formats every value of a column in that unit', () => {
    expect(formatNsIn(8_889_200, 'ms')).toBe('8.889 ms');
    expect(formatNsIn(11_986_000, 'ms')).toBe('11.986 ms');
    expect(formatNsIn(12_300, 'µs')).toBe('12.3 µs');
    expect(formatNsIn(null, 'ms')).toBe('-');
    expect(formatNsIn(Number.NaN, 's')).toBe('-');
  });

  it('needs 1/(1-p) samples to tell a percentile from the max', () => {
    expect([90, 99, 99.9, 99.99, 99.999].map(samplesToResolve)).toEqual([10, 100, 1000, 10_000, 100_000]);
    expect(unresolvedReason(99.99, 9_999)).toMatch(/^9999 samples: p99.99 needs at least 10000/);
    expect(unresolvedReason(99.99, 10_000)).toBeNull();
    expect(unresolvedReason(99.999, 100_000)).toBeNull();
    expect(unresolvedReason(99.99, 0)).toBeNull(); // nothing recorded: the value is "-", not "= max"
  });

  it('renders "= max" greyed with the reason in its title, or the number', () => {
    expect(latencyCell(5_000, 'µs', { percentile: 99.9, count: 500 }))
      .toBe('<td class="num unresolved" title="500 samples: p99.9 needs at least 1000 to differ from the max; it is the max here">= max</td>');
    expect(latencyCell(5_000, 'µs', { percentile: 99.9, count: 1000 })).toBe('<td class="num">5.0 µs</td>');
    expect(latencyCell(null, 'µs', { percentile: 99.9, count: 0 })).toBe('<td class="num">-</td>');
    expect(latencyCell(5_000, 'ms')).toBe('<td class="num">0.005 ms</td>');
  });
});
