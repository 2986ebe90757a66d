/** The addon's TimerLatency thread, for real: it wakes on its grid, counts every wake-up once, and drains. */
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../../../shared/native/native-addon.js';
import { openTimerLatency, type NativeTimerLatency } from '../../../shared/native/timer-latency-addon.js';
import { skipNote, whySkip } from '../../helpers/skip.js';

const loaded = loadNativeAddon();
const skipReason = whySkip([!loaded.ok, `needs the native addon (${loaded.ok ? '' : loaded.reason})`]);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skipReason !== null)(`native TimerLatency${skipNote(skipReason)}`, () => {
  const opened: NativeTimerLatency[] = [];
  afterEach(() => { for (const t of opened.splice(0)) t.stop(); });
  const open = (options: Partial<Parameters<typeof openTimerLatency>[1]> = {}): NativeTimerLatency => {
    if (!loaded.ok) throw new Error('no addon');
    const timer = openTimerLatency(loaded.addon, { intervalNs: 1_000_000, rtPriority: 0, cpu: -1, mlock: false, ...options });
    if (timer instanceof Error) throw timer;
    opened.push(timer);
    return timer;
  };

  it('its thread is named rtprobe-timer (for taskset -p, chrt -p, top -H) while it runs, and is gone after stop()', () => {
    const timerThreads = (): number => readdirSync('/proc/self/task').filter((tid) => {
      try { return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'rtprobe-timer'; } catch { return false; }
    }).length;
    const before = timerThreads();
    const timer = open();
    expect(timerThreads()).toBe(before + 1);
    timer.stop();
    expect(timerThreads()).toBe(before);
  });

  it('wakes every 1 ms: a drain holds each wake-up once, in buckets whose counts add up, with the exact max and its time', async () => {
    const timer = open();
    const startedMs = Date.now();
    await sleep(400);
    const first = timer.drain();
    const counted = first.counts.reduce((sum, n) => sum + n, 0);
    expect(counted).toBe(first.count);
    // 400 ms at 1 ms: fewer when wake-ups came a whole interval late (overruns), never more
    expect(first.count + first.overruns).toBeGreaterThan(300);
    expect(first.count).toBeLessThanOrEqual(420);
    expect(first.values.length).toBe(first.counts.length);
    const largest = Math.max(...first.values);
    // the last bucket's middle is within its width (0.1 %) of the exact max
    expect(Math.abs(largest - first.maxNs)).toBeLessThanOrEqual(first.maxNs / 1000 + 1);
    expect(first.maxNs).toBeGreaterThan(0);
    expect(first.maxAtMs).toBeGreaterThanOrEqual(startedMs - 5);
    expect(first.maxAtMs).toBeLessThanOrEqual(Date.now() + 5);
    // a drain empties: the next one holds only what came after
    const second = timer.drain();
    expect(second.count).toBeLessThan(20);
    timer.stop();
    timer.stop();
    await sleep(20);
    timer.drain();
    expect(timer.drain()).toMatchObject({ count: 0, maxNs: -1 });
  });

  it('as root it runs at the SCHED_FIFO priority asked for and pinned; the interval is checked', () => {
    const asRoot = process.getuid?.() === 0;
    const timer = open({ rtPriority: 42, cpu: 0 });
    if (asRoot) expect(timer.fifoPriority).toBe(42);
    else expect(timer.warnings.join('\n')).toMatch(/SCHED_FIFO priority 42 not set/);
    if (!loaded.ok) return;
    expect(openTimerLatency(loaded.addon, { intervalNs: 5_000, rtPriority: 0, cpu: -1, mlock: false })).toBeInstanceOf(Error);
    expect(openTimerLatency(loaded.addon, { intervalNs: 1.5e6 + 0.5, rtPriority: 0, cpu: -1, mlock: false })).toBeInstanceOf(Error);
  });
});
