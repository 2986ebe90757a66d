/**
 * The live targets: a real `rtprobe agent` on 127.0.0.1 (nothing is sent anywhere else).
 *   1. --timestamps user (the node:dgram reflector) with its WebSocket stream: the UDP
 *      datagrams, then the stream messages;
 *   2. the default reflector (the native addon's thread when it is built): the same datagrams;
 *   3. the default reflector with --key-file: the same datagrams, signed, signed and damaged,
 *      or unsigned (live-udp.ts keyedLiveDatagram).
 * Each agent is stopped with SIGTERM and its counters compared with what was sent (live-checks.ts).
 */
import { startAgent, type RunningAgent } from '../helpers/cli.js';
import { parseAgentCounters } from '../helpers/agent-counters.js';
import type { TallyData } from './fuzz-tally.js';
import { checkUdpRun, checkWsRun, type AgentEnd } from './live-checks.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIVE_KEY, sendUdpFuzz } from './live-udp.js';
import { sendWsFuzz } from './live-ws.js';

export interface LiveFuzzOptions {
  seed: number;
  /** datagrams to each agent (0: none) */
  datagrams: number;
  /** messages to the stream (0: none) */
  wsMessages: number;
  /** datagrams a second */
  rate: number;
  onTargetDone?: (tally: TallyData) => void;
}

async function stop(agent: RunningAgent, startMs: number): Promise<AgentEnd> {
  const aliveUntilStop = agent.child.exitCode === null && agent.child.signalCode === null;
  const ended = await agent.stop();
  return { aliveUntilStop, exitCode: ended.code, counters: parseAgentCounters(ended.stdout), elapsedMs: performance.now() - startMs };
}

export async function fuzzLive(options: LiveFuzzOptions): Promise<TallyData[]> {
  const tallies: TallyData[] = [];
  const done = (tally: TallyData): void => {
    tallies.push(tally);
    options.onTargetDone?.(tally);
  };
  if (options.datagrams > 0 || options.wsMessages > 0) {
    const agent = await startAgent(['--timestamps', 'user', '--ws', '127.0.0.1:0', '--insecure-no-auth']);
    const startMs = performance.now();
    const udp = options.datagrams > 0 ? await sendUdpFuzz(agent.port, options.seed, options.datagrams, options.rate) : null;
    const udpMs = performance.now() - startMs;
    const ws = options.wsMessages > 0 && agent.streamUrl !== null ? await sendWsFuzz(agent.streamUrl, options.seed, options.wsMessages) : null;
    const end = await stop(agent, startMs);
    if (udp !== null) done(checkUdpRun('agent-udp-user', udp, { ...end, elapsedMs: udpMs }));
    if (ws !== null) done(checkWsRun('agent-ws', ws, { ...end, elapsedMs: end.elapsedMs - udpMs }));
  }
  if (options.datagrams > 0) {
    const agent = await startAgent([]);
    const startMs = performance.now();
    const udp = await sendUdpFuzz(agent.port, options.seed, options.datagrams, options.rate);
    const end = await stop(agent, startMs);
    const stamps = end.counters instanceof Error ? 'default' : end.counters.timestamps ?? 'default';
    done(checkUdpRun(stamps === 'user' ? 'agent-udp-default' : `agent-udp-${stamps}`, udp, end));
    const dir = mkdtempSync(join(tmpdir(), 'rtprobe-fuzz-'));
    try {
      const keyFile = join(dir, 'key');
      writeFileSync(keyFile, `${LIVE_KEY.toString()}\n`, { mode: 0o600 });
      const keyed = await startAgent(['--key-file', keyFile]);
      const keyedStartMs = performance.now();
      const keyedUdp = await sendUdpFuzz(keyed.port, options.seed, options.datagrams, options.rate, LIVE_KEY);
      done(checkUdpRun('agent-udp-keyed', keyedUdp, await stop(keyed, keyedStartMs)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return tallies;
}
