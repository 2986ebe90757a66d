import type { WarmUp } from '../../shared/native/warm-up-rounds.js';
import { runWithNativesSyntax } from './natives-syntax.js';

/** What V8 said of each function of a path before and after a warm-up, and what the warm-up took. */
export interface WarmUpOptimization<Extra> {
  before: Record<string, boolean>;
  after: Record<string, boolean>;
  cpuMs: number;
  warmUp: WarmUp;
  extra: Extra;
}

/**
 * In a child Node with --allow-natives-syntax: runs `setup` (its imports, and `path`, the
 * functions to ask about by name), asks V8 whether each has optimized code
 * (%GetOptimizationStatus, bit 4), awaits `warmUp` (an expression), asks again, and reports
 * the CPU the warm-up took and `extra` (an expression evaluated after it).
 */
export function optimizationAroundWarmUp<Extra = null>(setup: string, warmUp: string, extra = 'null'): WarmUpOptimization<Extra> {
  return runWithNativesSyntax<WarmUpOptimization<Extra>>(`
    const status = new Function('f', 'return %GetOptimizationStatus(f)');
    const OPTIMIZED = 1 << 4;
    ${setup}
    const optimized = () => Object.fromEntries(Object.entries(path).map(([name, f]) => [name, (status(f) & OPTIMIZED) !== 0]));
    const before = optimized();
    const cpu = process.cpuUsage();
    const warmUp = await (${warmUp});
    const used = process.cpuUsage(cpu);
    console.log(JSON.stringify({ before, after: optimized(), cpuMs: (used.user + used.system) / 1000, warmUp, extra: ${extra} }));
  `);
}

/** "N rounds, N probes, a round X ms at first and Y ms at last" */
export function describeWarmUp(warmUp: WarmUp): string {
  return `${warmUp.rounds} rounds, ${warmUp.probes} probes, a round ${warmUp.firstRoundMs.toFixed(1)} ms at first and ${warmUp.lastRoundMs.toFixed(1)} ms at last`;
}
