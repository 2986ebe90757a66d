/**
 * `ping -i 0.01 -c N HOST`: ICMP echo, answered by the far kernel (no user-space reflector,
 * so its RTT lacks the two process wake-ups every UDP tool pays). Same probe count as the
 * others; it takes longer since ping reaches only ~60 Hz on a 250 Hz-tick kernel.
 */
import { runToEnd, showCommand, tail } from '../proc.js';
import { clientTimeoutS } from '../run-spec.js';
import type { RunSpec } from '../run-spec.js';
import type { RoundResult } from '../tool-result.js';
import { parsePing } from './ping-parse.js';

/** ICMP echo: the far kernel reflects it; iputils stamps RX with SO_TIMESTAMP */
export const PING_STAMPS = 'user tx, kernel rx; ICMP';

export async function runPing(spec: RunSpec): Promise<RoundResult[]> {
  const count = Math.round(spec.seconds * spec.rateHz);
  const args = ['-n', '-i', String(1 / spec.rateHz), '-c', String(count), spec.path.serverHost];
  const base = { tool: 'ping' as const, round: spec.round, stamps: PING_STAMPS };
  const f = await runToEnd('ping', args, { netns: spec.path.clientNetns, timeoutS: clientTimeoutS(spec) * 2 });
  const p = parsePing(f.stdout);
  if (p.rttNs.length === 0) {
    const cmd = showCommand('ping', args, { netns: spec.path.clientNetns });
    return [{ ...base, ok: false, note: `no replies (exit ${f.code ?? f.signal}): ${cmd}\n${tail(f)}`, sent: 0, received: 0, durationS: 0 }];
  }
  const r: RoundResult = { ...base, ok: true, rttNs: p.rttNs, sent: p.sent, received: p.received, durationS: p.durationS };
  if (f.cpuS !== undefined) r.clientCpuS = f.cpuS;
  return [r];
}
