/**
 * Sends that fail late keep TX stamps matched (issue 16, item 7). A netfilter drop on local
 * output fails sendmsg with EPERM after the datagram was built: on kernels < 6.13, which number
 * TX stamps with the socket's own counter (RTPROBE_TX_ID_COUNTER=1 takes that path here), the
 * counter has moved on without a stamp, and every later stamp matched the wrong probe or none
 * (measured before the fix: all 30 RTTs fell back to user stamps). The agent, whose replies are
 * dropped the same way, counts every failed reply exactly (its error events are capped).
 * Everything runs in a network namespace the test creates, on its loopback, with its own
 * nftables table; both go away with the namespace.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH } from '../helpers/cli.js';
import { skipNote, whySkip } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const hasNft = spawnSync('nft', ['--version']).status === 0;
const skipReason = whySkip([!isRoot, 'needs root (network namespace, nftables)'], [!hasNft, "needs the 'nft' command (Debian: nftables)"]);

const NS = `rtp-txid-${process.pid}`;
const PORT = 7999;

function nft(ruleset: string): void {
  execFileSync('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], { input: ruleset });
}

/** Drops every `n`th UDP datagram `to` or `from` the agent's port on output. */
function dropEvery(n: number, direction: 'dport' | 'sport'): void {
  nft(`flush ruleset
table inet rtprobe_test {
  chain out {
    type filter hook output priority 0;
    udp ${direction} ${PORT} numgen inc mod ${n} == 0 drop
  }
}
`);
}

interface Target { sent: number; received: number; lost: number; timestamps: { tx: string; user_fallback_rtts: number } }

/** `rtprobe ARGS` inside the namespace; stop() ends it with SIGTERM and resolves with all it printed. */
function rtprobeInNamespace(args: string[], env: NodeJS.ProcessEnv = {}): { stdout: () => string; listening: Promise<void>; stop(): Promise<string>; closed: Promise<string> } {
  const child = spawn('ip', ['netns', 'exec', NS, process.execPath, CLI_PATH, ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const closed = new Promise<string>((resolve) => child.once('close', () => resolve(output)));
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => { if (/listening udp/.test(output)) resolve(); });
    void closed.then(() => reject(new Error(`ended before it listened: ${output}`)));
  });
  listening.catch(() => {}); // only the agent's is awaited
  return { stdout: () => stdout, listening, closed, stop: async () => { child.kill('SIGTERM'); return closed; } };
}

async function runInNamespace(env: NodeJS.ProcessEnv): Promise<Target> {
  const run = rtprobeInNamespace(['run', '--target', `127.0.0.1:${PORT}`, '--count', '40', '--rate', '100', '--loss-after', '1s',
    '--timestamps', 'kernel', '--json', '-', '--quiet'], env);
  const output = await run.closed;
  expect(run.stdout(), output).not.toBe('');
  const [target] = (JSON.parse(run.stdout()) as { targets: Target[] }).targets;
  if (!target) throw new Error('no target in the report');
  return target;
}

function spawnAgent(env: NodeJS.ProcessEnv = {}): { listening: Promise<void>; stop(): Promise<string> } {
  return rtprobeInNamespace(['agent', '--listen', `127.0.0.1:${PORT}`, '--timestamps', 'kernel'], env);
}

describe.skipIf(skipReason !== null)(`sends that fail late (netfilter drop): TX stamps stay matched${skipNote(skipReason)}`, () => {
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it.each([['SCM_TS_OPT_ID (kernel >= 6.13)', '0'], ["the socket's counter (kernels < 6.13)", '1']])(
    'TX ids by %s: every probe that left has its kernel TX stamp', async (_label, counter) => {
      dropEvery(4, 'dport');
      const agent = spawnAgent();
      try {
        await agent.listening;
        const t = await runInNamespace({ RTPROBE_TX_ID_COUNTER: counter });
        expect(t.sent).toBe(40);
        expect(t.received).toBe(30); // probes 0, 4, 8, ... were dropped: their sends failed
        expect(t.timestamps.tx).toBe('kernel');
        expect(t.timestamps.user_fallback_rtts).toBe(0);
      } finally {
        await agent.stop();
      }
    }, 30_000);

  it('the agent counts every reply it could not send, exactly', async () => {
    // 20 failures in 0.4 s: more than the 10 error events a second the thread emits
    dropEvery(2, 'sport');
    const agent = spawnAgent({ RTPROBE_TX_ID_COUNTER: '1' });
    try {
      await agent.listening;
      const t = await runInNamespace({});
      expect(t.received).toBe(20);
    } finally {
      const summary = await agent.stop();
      // 20 answered; the 20 whose reply was dropped are each counted, none more, none fewer
      expect(summary).toMatch(/reflected 20, rejected 20 \(send-failed 20\)/);
    }
  }, 30_000);
});
