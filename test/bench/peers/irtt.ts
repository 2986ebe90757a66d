/**
 * irtt: `irtt server -b HOST:PORT` on the server side, then
 * `irtt client -i 10ms -d 20s -Q -o FILE.json HOST:PORT` (its JSON has every round trip).
 * Two rows come out of one run: `irtt` (client receive − send, like every other tool) and
 * `irtt-own` (irtt's reported rtt, which subtracts the server's processing time).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToEnd, showCommand, startService, tail } from '../proc.js';
import { clientTimeoutS } from '../run-spec.js';
import type { RunSpec } from '../run-spec.js';
import type { RoundResult } from '../tool-result.js';
import { parseIrttJson } from './irtt-parse.js';

export const IRTT_STAMPS = 'user (Go, after the syscall)';

export async function runIrtt(spec: RunSpec): Promise<RoundResult[]> {
  const { path } = spec;
  const port = await path.port(2112);
  const hostPort = `${path.serverHost}:${port}`;
  const base = { tool: 'irtt' as const, round: spec.round, stamps: IRTT_STAMPS };
  const server = await startService('irtt', ['server', '-b', hostPort], {
    netns: path.serverNetns,
    timeoutS: clientTimeoutS(spec) + 10,
    ready: /starting IPv4 listener on/,
    readyTimeoutS: 10,
  });
  const out = join(spec.tmpDir, `irtt-${path.name}-${spec.round}.json`);
  const intervalMs = 1000 / spec.rateHz;
  const args = ['client', '-i', `${intervalMs}ms`, '-d', `${spec.seconds}s`, '-Q', '-o', out, hostPort];
  try {
    const f = await runToEnd('irtt', args, { netns: path.clientNetns, timeoutS: clientTimeoutS(spec) });
    let text: string;
    try {
      text = readFileSync(out, 'utf8');
    } catch {
      const cmd = showCommand('irtt', args, { netns: path.clientNetns });
      return [{ ...base, ok: false, note: `no JSON (exit ${f.code ?? f.signal}): ${cmd}\n${tail(f)}`, sent: 0, received: 0, durationS: 0 }];
    }
    const p = parseIrttJson(text);
    const main: RoundResult = {
      ...base,
      ok: true,
      rttNs: p.rttNs,
      sent: p.sent,
      received: p.received,
      durationS: p.durationS,
      extra: { timer_misses: p.timerMisses },
    };
    if (f.cpuS !== undefined) main.clientCpuS = f.cpuS;
    if (p.timerErrorNs) main.sendError = { max: p.timerErrorNs.max, mean: p.timerErrorNs.mean };
    if (p.serverProcessingMeanNs !== undefined && main.extra) {
      main.extra['server_processing_mean_ns'] = p.serverProcessingMeanNs;
    }
    const own: RoundResult = {
      tool: 'irtt-own',
      round: spec.round,
      stamps: 'user (Go), minus server time',
      ok: true,
      rttNs: p.irttRttNs,
      sent: p.sent,
      received: p.received,
      durationS: p.durationS,
    };
    return [main, own];
  } finally {
    await server.stop();
  }
}
