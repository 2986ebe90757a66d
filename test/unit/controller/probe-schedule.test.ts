import { describe, it, expect } from 'vitest';
import {
  decideTick, periodNsForRate, slotOfTick, tickDueNs, type ScheduleShape,
} from '../../../controller/schedule/probe-schedule.js';

const MS = 1_000_000n;
// a typical CLOCK_MONOTONIC reading (days of uptime), far from zero
const START = 123_456_789_012_345n;

describe('periodNsForRate', () => {
  it('gives whole-ns periods, rounded to nearest', () => {
    expect(periodNsForRate(100)).toBe(10_000_000n);
    expect(periodNsForRate(1000)).toBe(1_000_000n);
    expect(periodNsForRate(3)).toBe(333_333_333n); // 333 333 333.33 rounds down
    expect(periodNsForRate(7)).toBe(142_857_143n); // 142 857 142.86 rounds up
    expect(periodNsForRate(2.5)).toBe(400_000_000n);
    expect(periodNsForRate(1_000_000)).toBe(1_000n);
  });

  it('never returns a zero period', () => {
    expect(periodNsForRate(3e9)).toBe(1n);
  });
});

describe('tickDueNs: no drift', () => {
  it('slot k is due at start + k·period exactly, k up to 10^6 (100 Hz, 1 target)', () => {
    const shape: ScheduleShape = { startMonoNs: START, periodNs: periodNsForRate(100), targets: 1 };
    let previous = tickDueNs(shape, 0n);
    expect(previous).toBe(START);
    for (let k = 1n; k <= 1_000_000n; k++) {
      const due = tickDueNs(shape, k);
      if (due !== START + k * shape.periodNs || due - previous !== shape.periodNs) {
        expect.fail(`tick ${k}: due ${due}, expected ${START + k * shape.periodNs}`);
      }
      previous = due;
    }
    expect(previous).toBe(START + 1_000_000n * 10_000_000n);
  });

  it('with a 1e9/3 ns period and 3 targets, slot k of target 0 is start + k·period for k up to 10^6', () => {
    const periodNs = periodNsForRate(3);
    const shape: ScheduleShape = { startMonoNs: START, periodNs, targets: 3 };
    for (let k = 0n; k <= 1_000_000n; k++) {
      const due = tickDueNs(shape, 3n * k);
      if (due !== START + k * periodNs) expect.fail(`slot ${k}: due ${due}, expected ${START + k * periodNs}`);
    }
    // the last slot is exactly 10^6 periods after the start: no accumulated rounding
    expect(tickDueNs(shape, 3_000_000n)).toBe(START + 333_333_333_000_000n);
    expect(tickDueNs(shape, 3_000_002n)).toBe(START + 333_333_333_000_000n + 222_222_222n);
  });

  it('a deadline far out is independent of the ticks before it (pure function of the tick)', () => {
    const shape: ScheduleShape = { startMonoNs: START, periodNs: 10_000_000n, targets: 2 };
    const far = 2n * 86_400n * 100n * 365n; // a year of 100 Hz slots, 2 targets
    expect(tickDueNs(shape, far)).toBe(START + (far / 2n) * 10_000_000n);
    expect(tickDueNs(shape, far + 1n)).toBe(START + (far / 2n) * 10_000_000n + 5_000_000n);
  });
});

describe('interleaving of targets within a period', () => {
  const shape: ScheduleShape = { startMonoNs: START, periodNs: 10_000_000n, targets: 3 };

  it('ticks go target 0, 1, 2 per slot, a third of a period apart', () => {
    const got = [0n, 1n, 2n, 3n, 4n, 5n].map((tick) => ({ ...slotOfTick(shape, tick), due: tickDueNs(shape, tick) - START }));
    expect(got).toEqual([
      { slot: 0n, target: 0, due: 0n },
      { slot: 0n, target: 1, due: 3_333_333n },
      { slot: 0n, target: 2, due: 6_666_666n },
      { slot: 1n, target: 0, due: 10_000_000n },
      { slot: 1n, target: 1, due: 13_333_333n },
      { slot: 1n, target: 2, due: 16_666_666n },
    ]);
  });

  it('every target sees exactly one period between its own slots, and all its deadlines fall inside the slot', () => {
    for (let target = 0; target < 3; target++) {
      let previous: bigint | null = null;
      for (let slot = 0n; slot < 1000n; slot++) {
        const due = tickDueNs(shape, slot * 3n + BigInt(target));
        if (previous !== null) expect(due - previous).toBe(shape.periodNs);
        expect(due).toBeGreaterThanOrEqual(START + slot * shape.periodNs);
        expect(due).toBeLessThan(START + (slot + 1n) * shape.periodNs);
        previous = due;
      }
    }
  });

  it('deadlines are strictly increasing in tick order', () => {
    let previous = -1n;
    for (let tick = 0n; tick < 3000n; tick++) {
      const due = tickDueNs(shape, tick);
      expect(due).toBeGreaterThan(previous);
      previous = due;
    }
  });
});

describe('decideTick boundaries', () => {
  const shape: ScheduleShape = { startMonoNs: START, periodNs: 10_000_000n, targets: 1 };
  const due7 = START + 7n * 10_000_000n;

  it('waits until the deadline', () => {
    expect(decideTick(shape, 7n, due7 - 1n)).toEqual({ action: 'wait', untilNs: due7 });
    expect(decideTick(shape, 7n, START)).toEqual({ action: 'wait', untilNs: due7 });
  });

  it('sends at the deadline and up to exactly one period late', () => {
    expect(decideTick(shape, 7n, due7)).toEqual({ action: 'send', slot: 7n, target: 0, dueNs: due7 });
    expect(decideTick(shape, 7n, due7 + 1n)).toMatchObject({ action: 'send', dueNs: due7 });
    expect(decideTick(shape, 7n, due7 + shape.periodNs)).toEqual({ action: 'send', slot: 7n, target: 0, dueNs: due7 });
  });

  it('misses one ns past one period late', () => {
    expect(decideTick(shape, 7n, due7 + shape.periodNs + 1n)).toEqual({ action: 'miss', slot: 7n, target: 0, dueNs: due7 });
    expect(decideTick(shape, 7n, due7 + 100n * shape.periodNs)).toMatchObject({ action: 'miss', dueNs: due7 });
  });

  it('reports slot and target of interleaved ticks', () => {
    const three: ScheduleShape = { ...shape, targets: 3 };
    const due = tickDueNs(three, 8n);
    expect(decideTick(three, 8n, due)).toEqual({ action: 'send', slot: 2n, target: 2, dueNs: due });
    expect(due).toBe(START + 2n * 10_000_000n + 6_666_666n);
  });
});

interface SimResult {
  sends: { slot: bigint; target: number; dueNs: bigint; atNs: bigint }[];
  misses: { slot: bigint; target: number; dueNs: bigint; atNs: bigint }[];
}

/**
 * A sender loop like the transport's, over a synthetic clock: it wakes exactly when told to,
 * except at `stallTick`, where it wakes `stallNs` after that tick's deadline.
 */
function simulateSender(shape: ScheduleShape, ticks: bigint, stallTick: bigint, stallNs: bigint): SimResult {
  const result: SimResult = { sends: [], misses: [] };
  let now = shape.startMonoNs - 1n;
  let tick = 0n;
  while (tick < ticks) {
    const decision = decideTick(shape, tick, now);
    if (decision.action === 'wait') {
      now = tick === stallTick ? decision.untilNs + stallNs : decision.untilNs;
      continue;
    }
    tick++;
    const record = { slot: decision.slot, target: decision.target, dueNs: decision.dueNs, atNs: now };
    (decision.action === 'send' ? result.sends : result.misses).push(record);
  }
  return result;
}

describe('a late wake-up never shifts later deadlines', () => {
  it('100 Hz, one target, a 35 ms stall: 3 slots missed, later sends on their original deadlines', () => {
    const shape: ScheduleShape = { startMonoNs: START, periodNs: periodNsForRate(100), targets: 1 };
    const stallTick = 10n;
    const stallNs = 35n * MS;
    const wake = START + 100n * MS + stallNs;
    const { sends, misses } = simulateSender(shape, 50n, stallTick, stallNs);

    // the missed slots are exactly those more than one period late at the wake-up
    const expectedMissed = [10n, 11n, 12n].filter((k) => wake - (START + k * shape.periodNs) > shape.periodNs);
    expect(misses.map((m) => m.slot)).toEqual(expectedMissed);
    expect(misses.map((m) => m.slot)).toEqual([10n, 11n, 12n]);
    expect(sends.length + misses.length).toBe(50);

    // no burst: only slot 13 (5 ms late, within a period) is sent at the wake-up
    expect(sends.filter((s) => s.atNs === wake).map((s) => s.slot)).toEqual([13n]);
    for (const s of sends) {
      expect(s.dueNs).toBe(START + s.slot * shape.periodNs);
      if (s.slot !== 13n) expect(s.atNs).toBe(s.dueNs); // every other send is exactly on time
    }
    expect(sends.map((s) => s.slot)).toEqual([...Array(50).keys()].map(BigInt).filter((k) => k < 10n || k > 12n));
  });

  it('100 Hz, three targets, a 35 ms stall: misses follow the one-period rule, the rest keep their deadlines', () => {
    const shape: ScheduleShape = { startMonoNs: START, periodNs: periodNsForRate(100), targets: 3 };
    const stallTick = 30n; // slot 10, target 0
    const stallNs = 35n * MS;
    const wake = tickDueNs(shape, stallTick) + stallNs;
    const { sends, misses } = simulateSender(shape, 150n, stallTick, stallNs);

    expect(sends.length + misses.length).toBe(150);
    // ticks 30..37 are more than 10 ms late at the wake-up (35 .. 11.67 ms); 38..40 are not
    expect(misses.length).toBe(8);
    for (const m of misses) {
      expect(m.atNs).toBe(wake);
      expect(wake - m.dueNs).toBeGreaterThan(shape.periodNs);
    }
    const caughtUp = sends.filter((s) => s.atNs === wake);
    expect(caughtUp.map((s) => s.target)).toEqual([2, 0, 1]);
    for (const s of caughtUp) expect(wake - s.dueNs).toBeLessThanOrEqual(shape.periodNs);
    for (const s of sends) {
      expect(s.dueNs).toBe(tickDueNs(shape, s.slot * 3n + BigInt(s.target)));
      if (s.atNs !== wake) expect(s.atNs).toBe(s.dueNs);
    }
  });

  it('a stall of exactly one period misses nothing', () => {
    const shape: ScheduleShape = { startMonoNs: START, periodNs: 10n * MS, targets: 1 };
    const { sends, misses } = simulateSender(shape, 20n, 5n, 10n * MS);
    expect(misses).toEqual([]);
    expect(sends.length).toBe(20);
    expect(sends.filter((s) => s.atNs !== s.dueNs).map((s) => s.slot)).toEqual([5n]);
  });
});
