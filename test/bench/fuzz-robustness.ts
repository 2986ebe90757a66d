/**
 * The bench's robustness line (issue 8): the long fuzz run (`npm run fuzz -- --count N`) as a
 * child, summarised: inputs, crashes, hangs, broken invariants (known findings apart), and the
 * reflectors' bytes out / bytes in under the hostile mix of its live run — random and mutated
 * datagrams from one source at 2000/s, against agents with their default limits — and the
 * refusal replies they sent (each checked to answer a well-formed probe and be no larger).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { amplification } from '../fuzz/format-fuzz-table.js';
import type { TallyData } from '../fuzz/fuzz-tally.js';
import { knownFinding } from '../fuzz/known-findings.js';
import { fixed } from './format-table.js';
import { runToEnd, tail } from './proc.js';
import { REPO_ROOT } from './rtprobe-runner.js';

/** Fixed, so that two bench runs throw the same inputs. */
export const BENCH_FUZZ_SEED = 20261201;

export interface RobustnessResult {
  seed: number;
  countPerDecoder: number;
  inputs: number;
  crashes: number;
  hangs: number;
  violations: number;
  knownViolations: number;
  wallS: number;
  /** live reflector → bytes out / bytes in */
  amplification: Record<string, number | null>;
  /** live reflector → valid probes refused by the default limits */
  refusedByLimits: Record<string, number>;
  /** reflector → refusal replies sent (the 'refuse' decoder target and the live agents) */
  refusalReplies: Record<string, number>;
}

type IsKnown = (target: string, invariant: string) => boolean;
const isKnownFinding: IsKnown = (target, invariant) => knownFinding(target, invariant) !== undefined;

/** Pure: the summary of a fuzz run's tallies; `isKnown` tells the listed findings (known-findings.ts) apart. */
export function summarizeFuzz(seed: number, countPerDecoder: number, tallies: readonly TallyData[], wallS: number,
  isKnown: IsKnown = isKnownFinding): RobustnessResult {
  let violations = 0;
  let knownViolations = 0;
  for (const t of tallies) {
    for (const [invariant, n] of Object.entries(t.violations)) {
      if (isKnown(t.target, invariant)) knownViolations += n;
      else violations += n;
    }
  }
  const reflectors = tallies.filter((t) => t.target === 'reflect' || t.target === 'refuse' || t.target.startsWith('agent-udp'));
  return {
    seed, countPerDecoder, wallS,
    inputs: tallies.reduce((sum, t) => sum + t.inputs, 0),
    crashes: tallies.reduce((sum, t) => sum + t.crashes, 0),
    hangs: tallies.reduce((sum, t) => sum + t.hangs, 0),
    violations, knownViolations,
    amplification: Object.fromEntries(reflectors.map((t) => [t.target, amplification(t)])),
    refusedByLimits: Object.fromEntries(reflectors.flatMap((t) => {
      const n = t.acceptedAs["refused by the agent's limits"];
      return n === undefined ? [] : [[t.target, n]];
    })),
    refusalReplies: Object.fromEntries(reflectors.flatMap((t) => {
      const n = t.acceptedAs['refusal replies'];
      return n === undefined ? [] : [[t.target, n]];
    })),
  };
}

export function renderRobustness(r: RobustnessResult): string {
  const ratios = Object.entries(r.amplification).map(([target, ratio]) => `${target} ${ratio === null ? '-' : fixed(ratio, 3)}`).join(', ');
  const refused = Object.entries(r.refusedByLimits).map(([target, n]) => `${target} ${n}`).join(', ') || '-';
  const refusals = Object.entries(r.refusalReplies ?? {}).map(([target, n]) => `${target} ${n}`).join(', ') || '-';
  return [
    `fuzz (seed ${r.seed}, ${r.countPerDecoder} inputs per decoder): ${r.inputs} inputs in ${fixed(r.wallS, 0)} s, ` +
      `${r.crashes} crashes, ${r.hangs} hangs, ${r.violations} broken invariants (+${r.knownViolations} known findings)`,
    `reflector bytes out / bytes in under the hostile mix (must be ≤ 1): ${ratios}`,
    `valid probes refused by the agents' default limits (--max-sessions 16, --max-rate 1000): ${refused}`,
    `refusal replies (each to a well-formed probe, never larger than it): ${refusals}`,
  ].join('\n');
}

export async function measureRobustness(countPerDecoder: number, tmpDir: string): Promise<RobustnessResult> {
  const json = join(tmpDir, 'fuzz.json');
  const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  const finished = await runToEnd(tsx, ['test/fuzz/fuzz.ts', '--count', String(countPerDecoder), '--seed', String(BENCH_FUZZ_SEED), '--json', json],
    { timeoutS: 3 * 3600, cwd: REPO_ROOT });
  // Exit 1 = an invariant broke: still a result, the summary says which kind.
  if (finished.code !== 0 && finished.code !== 1) throw new Error(`fuzz exited ${finished.code}: ${tail(finished)}`);
  const report = JSON.parse(readFileSync(json, 'utf8')) as { seed: number; tallies: TallyData[] };
  return summarizeFuzz(report.seed, countPerDecoder, report.tallies, finished.wallS);
}
