/**
 * The isochronous probe schedule, as pure arithmetic. Probe slots are laid on absolute
 * deadlines of the monotonic clock, so a late wake-up never moves a later slot (no drift),
 * and targets interleave inside each period so they all see the same host load.
 *
 * Ticks number the (slot, target) pairs in send order: tick = slot · targets + target.
 */
export interface ScheduleShape {
  startMonoNs: bigint;
  periodNs: bigint;
  targets: number;
}

/** The period for a rate, rounded to whole ns; the realised rate is 1e9 / periodNs. */
export function periodNsForRate(rateHz: number): bigint {
  return BigInt(Math.max(1, Math.round(1e9 / rateHz)));
}

export function slotOfTick(shape: ScheduleShape, tick: bigint): { slot: bigint; target: number } {
  const targets = BigInt(shape.targets);
  return { slot: tick / targets, target: Number(tick % targets) };
}

/** When tick is due: start + slot·period + target·period/targets. */
export function tickDueNs(shape: ScheduleShape, tick: bigint): bigint {
  const { slot, target } = slotOfTick(shape, tick);
  return shape.startMonoNs + slot * shape.periodNs + (BigInt(target) * shape.periodNs) / BigInt(shape.targets);
}

export type TickDecision =
  | { action: 'wait'; untilNs: bigint }
  | { action: 'send'; slot: bigint; target: number; dueNs: bigint }
  | { action: 'miss'; slot: bigint; target: number; dueNs: bigint };

/**
 * What to do about `tick` at `nowNs`: wait for its deadline, send it, or — when the sender
 * woke more than one period late — skip it as a missed slot rather than send a burst.
 */
export function decideTick(shape: ScheduleShape, tick: bigint, nowNs: bigint): TickDecision {
  const dueNs = tickDueNs(shape, tick);
  if (nowNs < dueNs) return { action: 'wait', untilNs: dueNs };
  const { slot, target } = slotOfTick(shape, tick);
  return { action: nowNs - dueNs > shape.periodNs ? 'miss' : 'send', slot, target, dueNs };
}
