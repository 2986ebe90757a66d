import { describe, expect, it } from 'vitest';
import { describeWarmUp, optimizationAroundWarmUp } from '../../helpers/warm-up-optimization.js';

/**
 * The warm-up is there so that V8 has compiled the per-probe path before the first probe: a
 * Node started with --allow-natives-syntax asks V8 itself (%GetOptimizationStatus, bit 4:
 * optimized) about the functions every probe runs through, before and after it.
 */
describe('warmUpProbePath: V8 compiles the per-probe path before the first probe', () => {
  it('decode, apply, match and record are optimized after it (and not before), for UDP and ICMP', () => {
    const { before, after, cpuMs, warmUp } = optimizationAroundWarmUp(`
      const { warmUpProbePath } = await import('./controller/engine/warm-up-probe-path.ts');
      const { decodeEventRecords, decodeEventRecord } = await import('./shared/native/event-records.ts');
      const { RunState } = await import('./controller/matching/run-state.ts');
      const { decodeEchoReply } = await import('./controller/transport/icmp-codec.ts');
      const { TargetStats } = await import('./controller/recording/target-stats.ts');
      // A run's batches come grouped (ProbeRecordsEvent): its UDP probes are read in place
      // (applyRecords, applyReplyRecord); an ICMP reply is decoded as an event (decodeEventRecord).
      // The small calls they make (onSentRecord, onReplyRecord, headerFault) are not asked about:
      // once their caller's code has them inlined they are not called on their own any more,
      // and V8 then never compiles them apart (seen with --trace-opt: false in 1 of 6 runs).
      const path = { decodeEventRecords, applyRecords: RunState.prototype.applyRecords, applyReplyRecord: RunState.prototype.applyReplyRecord,
        decodeEventRecord, decodeEchoReply };
      const makeStats = (target, session) => new TargetStats(target, session, { capacity: 512, timeoutNs: 1e9, lossAfterNs: 2_000_000_000n });
    `, 'warmUpProbePath(new Set(["udp", "icmp"]), makeStats)');
    console.log(`warm-up: ${describeWarmUp(warmUp)}; ${cpuMs.toFixed(0)} ms of CPU (V8's compiler threads included); optimized after it: ${JSON.stringify(after)}`);
    expect(Object.values(before).some((o) => o)).toBe(false);
    expect(after).toEqual({ decodeEventRecords: true, applyRecords: true, applyReplyRecord: true, decodeEventRecord: true, decodeEchoReply: true });
  });
});
