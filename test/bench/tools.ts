/** The tools compared on each path, what they need installed, and how to run one round. */
import { runFping } from './peers/fping.js';
import { runIrtt } from './peers/irtt.js';
import { runPing } from './peers/ping.js';
import { runSockperf } from './peers/sockperf.js';
import { runRtprobe, runRtprobeIcmp } from './rtprobe-runner.js';
import type { RunSpec } from './run-spec.js';
import type { RoundResult, ToolId } from './tool-result.js';

export interface ToolDef {
  id: ToolId;
  /** executable it needs, if it is a peer */
  exe?: string;
  /** Debian package that provides it */
  pkg?: string;
  run: (spec: RunSpec) => Promise<RoundResult[]>;
}

export const TOOLS: readonly ToolDef[] = [
  { id: 'rtprobe-kernel', run: (s) => runRtprobe(s, 'kernel') },
  { id: 'rtprobe-user', run: (s) => runRtprobe(s, 'user') },
  // Agent-less: the path's kernel answers, like ping; raw sockets need root.
  { id: 'rtprobe-icmp', run: runRtprobeIcmp },
  { id: 'irtt', exe: 'irtt', pkg: 'irtt', run: runIrtt },
  { id: 'sockperf', exe: 'sockperf', pkg: 'sockperf', run: runSockperf },
  { id: 'ping', exe: 'ping', pkg: 'iputils-ping', run: runPing },
  { id: 'fping', exe: 'fping', pkg: 'fping', run: runFping },
];

/** Row order of the tables (irtt-own comes out of the irtt run). */
export const ROW_ORDER: readonly ToolId[] = ['rtprobe-kernel', 'rtprobe-user', 'rtprobe-icmp', 'irtt', 'irtt-own', 'sockperf', 'ping', 'fping'];

/** Round r starts at a different tool, so no tool always runs first or after the same one. */
export function roundOrder<T>(tools: readonly T[], round: number): T[] {
  const k = tools.length === 0 ? 0 : round % tools.length;
  return [...tools.slice(k), ...tools.slice(0, k)];
}
