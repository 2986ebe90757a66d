import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startAgent } from '../helpers/cli.js';
import { startUdpRelay } from '../helpers/udp-relay.js';
import { WebSocket } from 'ws';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-stream-test-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'a-test-token-of-enough-length\n');
const wrongTokenFile = join(dir, 'wrong');
writeFileSync(wrongTokenFile, 'not-the-token-the-agent-has\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STREAM_ARGS = ['--ws', '127.0.0.1:0', '--token-file', tokenFile];

describe('controller + agent stream through the real CLI (loopback)', () => {
  it('the agent\'s intervals reach the report: its counts equal what it recorded', async () => {
    const agent = await startAgent(STREAM_ARGS);
    try {
      const result = await runCli(['run', '--target', `g=127.0.0.1:${agent.port}`, '--agent-ws', `g=${agent.streamUrl}`,
        '--agent-token-file', tokenFile, '--count', '200', '--rate', '200', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const target = JSON.parse(result.stdout).targets[0];
      expect(target.agent.complete).toBe(true);
      expect(target.agent.received).toBe(200);
      expect(target.agent.gaps).toBe(0);
      expect(target.agent.turnaround_ns.count).toBe(200);
      expect(target.agent.ipdv_ns.count).toBe(199);
      expect(target.agent.owd_ns).toBeNull();
      expect(target.agent.clocks).toMatchObject({ t2: 'kernel' });
      expect(target.loss_forward).toBe(0);
      expect(target.loss_return).toBe(0);
      expect(target.network_ns.count).toBe(200);
      const ended = await agent.stop();
      // the agent's own exit summary saw the same probes
      // the 200 probes and the run's session-end, which freed its place
      expect(ended.stdout).toMatch(/received 201, reflected 200, rejected 0 \(none\), sessions ended by their controller 1/);
      const max = /max ([\d.]+) (µs|ms|s)\b/.exec(ended.stdout.split('\n').find((l) => l.startsWith('turnaround')) ?? '');
      const unitNs = { µs: 1e3, ms: 1e6, s: 1e9 }[max?.[2] ?? 's'] ?? 1e9;
      // the exit summary prints 1 decimal in µs, 3 in ms: equal to that precision
      expect(Math.abs(Number(max?.[1]) * unitNs - target.agent.turnaround_ns.max)).toBeLessThanOrEqual(unitNs === 1e3 ? 50 : 500);
    } finally {
      agent.child.kill('SIGKILL');
    }
  });

  it.each([
    ['probes only', { dropForwardEvery: 10 }, { forward: 20, ret: 0 }],
    ['replies only', { dropReturnEvery: 10 }, { forward: 0, ret: 20 }],
  ] as const)('a relay that drops %s: loss is split by direction', async (_what, drop, expected) => {
    const agent = await startAgent(STREAM_ARGS);
    const relay = await startUdpRelay({ upstreamPort: agent.port, ...drop });
    try {
      const result = await runCli(['run', '--target', `g=127.0.0.1:${relay.port}`, '--agent-ws', `g=${agent.streamUrl}`,
        '--agent-token-file', tokenFile, '--count', '200', '--rate', '200', '--loss-after', '1s', '--timeout', '500ms',
        '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const target = JSON.parse(result.stdout).targets[0];
      expect(target.lost).toBe(20);
      expect(relay.droppedForward + relay.droppedReturn).toBe(20);
      expect(target.loss_forward).toBe(expected.forward);
      expect(target.loss_return).toBe(expected.ret);
      expect(target.agent.received).toBe(200 - expected.forward);
    } finally {
      await relay.close();
      await agent.stop();
    }
  });

  // The reflector hands its events to JavaScript once a second; an interval closes after the
  // agent asked for what its thread had read, and each probe counts in the interval it was
  // read in (not the one its batch reached JavaScript in, which was up to a second later).
  it('--stream-interval 500ms with 1 s reflector batches: each full interval holds its 50 probes, the first the ones before its end', async () => {
    const agent = await startAgent([...STREAM_ARGS, '--stream-interval', '500ms']);
    const intervals: { start_ms: number; end_ms: number; counts: { received: number } }[] = [];
    const ws = new WebSocket(agent.streamUrl ?? '', { headers: { Authorization: 'Bearer a-test-token-of-enough-length' } });
    try {
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string };
        if (m.type === 'hello') ws.send(JSON.stringify({ type: 'subscribe', v: 1 }));
        if (m.type === 'interval') intervals.push(m as unknown as (typeof intervals)[number]);
      });
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
      const result = await runCli(['run', '--target', `g=127.0.0.1:${agent.port}`, '--count', '300', '--rate', '100', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const startedMs = Date.parse(JSON.parse(result.stdout).started);
      await new Promise((resolve) => setTimeout(resolve, 1200)); // the last interval closes on the ticker
      const withProbes = intervals.filter((i) => i.counts.received > 0);
      expect(withProbes.reduce((sum, i) => sum + i.counts.received, 0)).toBe(300);
      for (const [k, i] of withProbes.entries()) {
        expect(i.end_ms - i.start_ms, `interval ${k}`).toBeLessThanOrEqual(500);
        if (k > 0 && k < withProbes.length - 1) expect(Math.abs(i.counts.received - 50), `interval ${k}: ${i.counts.received}`).toBeLessThanOrEqual(2);
      }
      // the first: every probe sent before its end (sending starts within 100 ms of `started`)
      const first = withProbes[0];
      expect(first?.counts.received).toBeGreaterThanOrEqual(Math.floor(((first?.end_ms ?? 0) - startedMs - 100) / 10) - 2);
    } finally {
      ws.terminate();
      await agent.stop();
    }
  });

  // Issue 16: these runs used to report "agent saw 0 probes" (the agent had all of them) and exit 0.
  it('a wrong token: the run goes on, says 401 once on stderr, the breakdown is unknown (null, with the reason), exit 3', async () => {
    const agent = await startAgent(STREAM_ARGS);
    try {
      const result = await runCli(['run', '--target', `g=127.0.0.1:${agent.port}`, '--agent-ws', `${agent.streamUrl}`,
        '--agent-token-file', wrongTokenFile, '--count', '50', '--rate', '100', '--json', '-']);
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr.match(/warning: agent stream .*401 unauthorized/g)).toHaveLength(1);
      expect(result.stderr).toMatch(/agent breakdown is unknown until it connects/);
      // the text report (on stderr with --json -) says unknown, not zeros
      expect(result.stderr).toMatch(/agent +ws:\S+: UNKNOWN: the agent stream never connected: 401 unauthorized/);
      expect(result.stderr).not.toMatch(/agent saw/);
      const target = JSON.parse(result.stdout).targets[0];
      expect(target.received).toBe(50);
      expect(target.agent).toBeNull();
      expect(target.agent_unknown).toEqual({ url: agent.streamUrl, reason: expect.stringMatching(/^the agent stream never connected: 401 unauthorized/) });
      expect(target.loss_forward).toBeNull();
      expect(target.loss_return).toBeNull();
      const ended = await agent.stop();
      expect(ended.stdout).toMatch(/received 51, reflected 50, rejected 0 \(none\), sessions ended by their controller 1/); // and the session-end
    } finally {
      agent.child.kill('SIGKILL');
    }
  });

  it('--agent-ws to a port where nothing listens: said on stderr during the run, breakdown unknown, exit 3', async () => {
    const agent = await startAgent();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    try {
      const result = await runCli(['run', '--target', `g=127.0.0.1:${agent.port}`, '--agent-ws', `ws://127.0.0.1:${port}`,
        '--agent-token-file', tokenFile, '--count', '100', '--rate', '100', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(new RegExp(`warning: agent stream ws://127\\.0\\.0\\.1:${port}/v1/stream: .*ECONNREFUSED.*the agent breakdown is unknown`));
      const target = JSON.parse(result.stdout).targets[0];
      expect(target.received).toBe(100);
      expect(target.agent).toBeNull();
      expect(target.agent_unknown.reason).toMatch(/never connected: .*ECONNREFUSED/);
      expect(result.stderr).not.toMatch(/final flush/);
    } finally {
      await agent.stop();
    }
  });

  it('a short run whose stream is still connecting at the end waits for it: breakdown known, exit 0', async () => {
    const agent = await startAgent(STREAM_ARGS);
    try {
      const result = await runCli(['run', '--target', `g=127.0.0.1:${agent.port}`, '--agent-ws', `g=${agent.streamUrl}`,
        '--agent-token-file', tokenFile, '--count', '1', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const target = JSON.parse(result.stdout).targets[0];
      expect(target.agent).toMatchObject({ complete: true, received: 1 });
    } finally {
      await agent.stop();
    }
  });

  it('agent stream flags: missing auth choice and bad token files are exit 2 naming the flag', async () => {
    for (const [args, pattern] of [
      [['--ws', '127.0.0.1:0'], /--token-file FILE/],
      [['--token-file', join(dir, 'missing')], /--token-file: cannot read/],
      [['--token-file', tokenFile, '--insecure-no-auth'], /--insecure-no-auth/],
      [['--clock-sync', 'ptp'], /--clock-error/],
      [['--clock-sync', 'gps', '--clock-error', '1us'], /--clock-sync/],
    ] as [string[], RegExp][]) {
      const result = await runCli(['agent', '--listen', '127.0.0.1:0', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(pattern);
    }
  });

  it('with --clock-sync the agent records forward one-way delay with its error bound', async () => {
    const agent = await startAgent([...STREAM_ARGS, '--clock-sync', 'ntp', '--clock-error', '20us']);
    try {
      const result = await runCli(['run', '--target', `g=127.0.0.1:${agent.port}`, '--agent-ws', `${agent.streamUrl}`,
        '--agent-token-file', tokenFile, '--count', '50', '--rate', '100', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const owd = JSON.parse(result.stdout).targets[0].agent.owd_ns;
      expect(owd).toMatchObject({ count: 50, clock_error_ns: 20_000, clock_sync: 'ntp' });
    } finally {
      await agent.stop();
    }
  });
});
