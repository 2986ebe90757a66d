/**
 * sockperf: `sockperf server -i HOST -p PORT`, then
 * `sockperf under-load -i HOST -p PORT --mps 100 --reply-every 1 -t 20 --full-rtt --full-log F.csv`.
 * --reply-every 1: the default (100) answers only every 100th message. under-load spins a
 * whole core while it runs, which on a 2-vCPU machine disturbs whatever shares that core.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToEnd, showCommand, startService, tail } from '../proc.js';
import { clientTimeoutS } from '../run-spec.js';
import type { RunSpec } from '../run-spec.js';
import type { RoundResult } from '../tool-result.js';
import { parseSockperfFullLog, parseSockperfStdout } from './sockperf-parse.js';

export const SOCKPERF_STAMPS = 'user (TSC)';

export async function runSockperf(spec: RunSpec): Promise<RoundResult[]> {
  const { path } = spec;
  const port = await path.port(11111);
  const base = { tool: 'sockperf' as const, round: spec.round, stamps: SOCKPERF_STAMPS };
  const server = await startService('sockperf', ['server', '-i', path.serverHost, '-p', String(port)], {
    netns: path.serverNetns,
    timeoutS: clientTimeoutS(spec) + 10,
    ready: /to block on socket/,
    readyTimeoutS: 10,
  });
  const csv = join(spec.tmpDir, `sockperf-${path.name}-${spec.round}.csv`);
  const args = [
    'under-load', '-i', path.serverHost, '-p', String(port),
    '--mps', String(spec.rateHz), '--reply-every', '1',
    '-t', String(Math.max(1, Math.round(spec.seconds))),
    '--full-rtt', '--full-log', csv,
  ];
  try {
    const f = await runToEnd('sockperf', args, { netns: path.clientNetns, timeoutS: clientTimeoutS(spec) });
    let rttNs: number[];
    try {
      rttNs = parseSockperfFullLog(readFileSync(csv, 'utf8'));
    } catch {
      rttNs = [];
    }
    const s = parseSockperfStdout(f.stdout + f.stderr);
    if (rttNs.length === 0) {
      const cmd = showCommand('sockperf', args, { netns: path.clientNetns });
      return [{ ...base, ok: false, note: `no samples (exit ${f.code ?? f.signal}): ${cmd}\n${tail(f)}`, sent: 0, received: 0, durationS: 0 }];
    }
    const r: RoundResult = {
      ...base,
      ok: true,
      rttNs,
      sent: s.sent || rttNs.length,
      received: s.received || rttNs.length,
      durationS: s.durationS,
      extra: { dropped: s.dropped },
    };
    if (f.cpuS !== undefined) r.clientCpuS = f.cpuS;
    return [r];
  } finally {
    await server.stop();
  }
}
