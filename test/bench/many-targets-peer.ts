/**
 * The machine's ceiling beside each many-targets step: `sockperf under-load` at the same
 * message rate (targets × 100 Hz) on the same loopback, every message answered (--reply-every
 * 1), round trips (--full-rtt). sockperf is a C loop with user-space stamps, no TX stamps, no
 * histograms and no JavaScript: what this machine's loopback carries when the tool's own work
 * is next to nothing. If sockperf loses messages at a rate, rtprobe's loss there says more
 * about the machine than about rtprobe.
 */
import { loopbackPath } from './bench-path.js';
import { processCpuS } from './child-cpu.js';
import { findExecutable } from './find-exe.js';
import { parseSockperfPercentilesUs, parseSockperfStdout } from './peers/sockperf-parse.js';
import { leafPid } from './proc-sampler.js';
import { runToEnd, showCommand, startService, tail } from './proc.js';

export interface SockperfCeiling {
  messagesPerS: number;
  seconds: number;
  command: string;
  /** sockperf's valid window (after its 400 ms warm-up) */
  sent?: number;
  received?: number;
  droppedPct?: number;
  /** round trip, µs, sockperf's own percentiles */
  p50Us?: number;
  p99Us?: number;
  maxUs?: number;
  /** user+system of the client (the whole run) and of the server while the client ran */
  clientCpuS?: number;
  serverCpuS?: number;
  note?: string;
}

/** Why no ceiling can be measured here, or undefined. */
export function sockperfCeilingSkipReason(): string | undefined {
  return findExecutable('sockperf') ? undefined : 'sockperf not installed (apt-get install sockperf)';
}

export async function measureSockperfCeiling(messagesPerS: number, seconds: number): Promise<SockperfCeiling> {
  const port = await loopbackPath().port(11911);
  const server = await startService('sockperf', ['server', '-i', '127.0.0.1', '-p', String(port)], {
    timeoutS: seconds + 40,
    ready: /to block on socket/,
    readyTimeoutS: 10,
  });
  const args = ['under-load', '-i', '127.0.0.1', '-p', String(port), '--mps', String(messagesPerS), '--reply-every', '1', '--full-rtt', '-t', String(seconds)];
  const command = showCommand('sockperf', args, {});
  const res: SockperfCeiling = { messagesPerS, seconds, command };
  try {
    const serverPid = leafPid(server.pid);
    const server0 = processCpuS(serverPid);
    const f = await runToEnd('sockperf', args, { timeoutS: seconds + 30 });
    const server1 = processCpuS(serverPid);
    if (f.cpuS !== undefined) res.clientCpuS = f.cpuS;
    if (server0 !== undefined && server1 !== undefined) res.serverCpuS = server1 - server0;
    const text = f.stdout + f.stderr;
    const counts = parseSockperfStdout(text);
    if (counts.sent === 0) {
      res.note = `no figures (exit ${f.code ?? f.signal}): ${command}\n${tail(f)}`;
      return res;
    }
    Object.assign(res, { sent: counts.sent, received: counts.received, droppedPct: (100 * counts.dropped) / counts.sent }, parseSockperfPercentilesUs(text));
    return res;
  } finally {
    await server.stop();
  }
}
