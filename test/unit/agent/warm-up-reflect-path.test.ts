import { describe, expect, it } from 'vitest';
import { runWithNativesSyntax } from '../../helpers/natives-syntax.js';

/**
 * The agent's warm-up is there so that V8 has compiled its per-probe path before the first
 * probe: a Node started with --allow-natives-syntax asks V8 itself (%GetOptimizationStatus,
 * bit 4: optimized) about the functions every reflected probe runs through, before and after it.
 */
describe('warmUpReflectPath: V8 compiles the agent\'s per-probe path before the first probe', () => {
  it('decode, the batch handler and the core are optimized after it (and not before), its intervals go to the throwaway publish only', () => {
    const script = `
      const status = new Function('f', 'return %GetOptimizationStatus(f)');
      const OPTIMIZED = 1 << 4;
      const { warmUpReflectPath } = await import('./agent/warm-up-reflect-path.ts');
      const { decodeEventRecords } = await import('./shared/native/event-records.ts');
      const { applyReflectorEvents } = await import('./agent/reflector-events.ts');
      const { AgentCore } = await import('./agent/agent-core.ts');
      const { AgentRecorder } = await import('./agent/agent-recorder.ts');
      const path = { decodeEventRecords, applyReflectorEvents, reflectedProbe: AgentCore.prototype.reflectedProbe,
        replySent: AgentCore.prototype.replySent };
      const optimized = () => Object.fromEntries(Object.entries(path).map(([name, f]) => [name, (status(f) & OPTIMIZED) !== 0]));
      const before = optimized();
      let published = 0;
      const makeCore = () => {
        const recorder = new AgentRecorder({ intervalMs: 1000, recordOwd: false, maxSessions: 64, idleMs: 60000, publish: () => { published++; } });
        return new AgentCore(recorder);
      };
      const cpu = process.cpuUsage();
      const warmUp = await warmUpReflectPath(makeCore, 4);
      const used = process.cpuUsage(cpu);
      console.log(JSON.stringify({ before, after: optimized(), cpuMs: (used.user + used.system) / 1000, warmUp, published }));
    `;
    const { before, after, cpuMs, warmUp, published } = runWithNativesSyntax<{ before: Record<string, boolean>; after: Record<string, boolean>;
      cpuMs: number; warmUp: { rounds: number; probes: number; firstRoundMs: number; lastRoundMs: number }; published: number }>(script);
    console.log(`agent warm-up: ${warmUp.rounds} rounds, ${warmUp.probes} probes, a round ${warmUp.firstRoundMs.toFixed(1)} ms at first and ${warmUp.lastRoundMs.toFixed(1)} ms at last; `
      + `${cpuMs.toFixed(0)} ms of CPU; ${published} intervals to its throwaway publish; optimized after it: ${JSON.stringify(after)}`);
    expect(Object.values(before).some((o) => o)).toBe(false);
    // (the recorder's probe() is inlined into reflectedProbe's optimized code, as in a run: no code of its own)
    expect(after).toEqual({ decodeEventRecords: true, applyReflectorEvents: true, reflectedProbe: true, replySent: true });
    // every round's throwaway sessions close their intervals (4 s of synthetic probes a round) into the throwaway publish
    expect(published).toBeGreaterThanOrEqual(warmUp.rounds * 3);
    expect(warmUp.probes).toBe(warmUp.rounds * 2000);
  });
});
