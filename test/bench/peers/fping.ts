/**
 * `fping -D -p 10 -c N HOST`: ICMP like ping, but it keeps the 10 ms period (~99 Hz here).
 */
import { runToEnd, showCommand, tail } from '../proc.js';
import { clientTimeoutS } from '../run-spec.js';
import type { RunSpec } from '../run-spec.js';
import type { RoundResult } from '../tool-result.js';
import { parseFping } from './fping-parse.js';

/** ICMP echo: the far kernel reflects it; fping stamps RX with SO_TIMESTAMPNS */
export const FPING_STAMPS = 'user tx, kernel rx; ICMP';

export async function runFping(spec: RunSpec): Promise<RoundResult[]> {
  const count = Math.round(spec.seconds * spec.rateHz);
  const args = ['-D', '-p', String(1000 / spec.rateHz), '-c', String(count), spec.path.serverHost];
  const base = { tool: 'fping' as const, round: spec.round, stamps: FPING_STAMPS };
  const f = await runToEnd('fping', args, { netns: spec.path.clientNetns, timeoutS: clientTimeoutS(spec) * 2 });
  const p = parseFping(f.stdout, f.stderr);
  if (p.rttNs.length === 0) {
    const cmd = showCommand('fping', args, { netns: spec.path.clientNetns });
    return [{ ...base, ok: false, note: `no replies (exit ${f.code ?? f.signal}): ${cmd}\n${tail(f)}`, sent: 0, received: 0, durationS: 0 }];
  }
  const r: RoundResult = { ...base, ok: true, rttNs: p.rttNs, sent: p.sent, received: p.received, durationS: p.durationS };
  if (f.cpuS !== undefined) r.clientCpuS = f.cpuS;
  return [r];
}
