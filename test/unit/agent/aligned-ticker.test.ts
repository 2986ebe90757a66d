import { describe, expect, it } from 'vitest';
import { startAlignedTicker } from '../../../agent/aligned-ticker.js';

describe('startAlignedTicker', () => {
  it('ticks after each multiple of the period, never twice in one period, and stops', async () => {
    const ticks: number[] = [];
    const stop = startAlignedTicker(40, () => performance.timeOrigin + performance.now(), (now) => ticks.push(now));
    await new Promise((resolve) => setTimeout(resolve, 400));
    stop();
    const count = ticks.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ticks.length).toBe(count);
    // a loaded machine may skip a period; it never ticks early (twice in one period)
    expect(count).toBeGreaterThan(3);
    const periods = ticks.map((t) => Math.floor(t / 40));
    for (let i = 1; i < periods.length; i++) expect(periods[i]).toBeGreaterThan(periods[i - 1] ?? Infinity);
  });
});
