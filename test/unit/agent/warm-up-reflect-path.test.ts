import { describe, expect, it } from 'vitest';
import { describeWarmUp, optimizationAroundWarmUp } from '../../helpers/warm-up-optimization.js';

/**
 * The agent's warm-up is there so that V8 has compiled its per-probe path before the first
 * probe: a Node started with --allow-natives-syntax asks V8 itself (%GetOptimizationStatus,
 * bit 4: optimized) about the functions every reflected probe runs through, before and after it.
 */
describe('warmUpReflectPath: V8 compiles the agent\'s per-probe path before the first probe', () => {
  it('decode, the batch handler and the core are optimized after it (and not before), its intervals go to the throwaway publish only', () => {
    const { before, after, cpuMs, warmUp, extra: published } = optimizationAroundWarmUp<number>(`
      const { warmUpReflectPath } = await import('./agent/warm-up-reflect-path.ts');
      const { decodeEventRecords } = await import('./shared/native/event-records.ts');
      const { applyReflectorEvents } = await import('./agent/reflector-events.ts');
      const { AgentCore } = await import('./agent/agent-core.ts');
      const { AgentRecorder } = await import('./agent/agent-recorder.ts');
      const path = { decodeEventRecords, applyReflectorEvents, reflectedProbe: AgentCore.prototype.reflectedProbe,
        replySent: AgentCore.prototype.replySent };
      let published = 0;
      const makeCore = () => {
        const recorder = new AgentRecorder({ intervalMs: 1000, recordOwd: false, maxSessions: 64, idleMs: 60000, publish: () => { published++; } });
        return new AgentCore(recorder);
      };
    `, 'warmUpReflectPath(makeCore, 4)', 'published');
    console.log(`agent warm-up: ${describeWarmUp(warmUp)}; ${cpuMs.toFixed(0)} ms of CPU; ${published} intervals to its throwaway publish; optimized after it: ${JSON.stringify(after)}`);
    expect(Object.values(before).some((o) => o)).toBe(false);
    // (the recorder's probe() is inlined into reflectedProbe's optimized code, as in a run: no code of its own)
    expect(after).toEqual({ decodeEventRecords: true, applyReflectorEvents: true, reflectedProbe: true, replySent: true });
    // every round's throwaway sessions close their intervals (4 s of synthetic probes a round) into the throwaway publish
    expect(published).toBeGreaterThanOrEqual(warmUp.rounds * 3);
    expect(warmUp.probes).toBe(warmUp.rounds * 2000);
  });
});
