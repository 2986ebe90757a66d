/**
 * Issue 8: authenticated probes and the agent's abuse limits, on real sockets on loopback,
 * against both reflectors (the native thread and node:dgram), which must agree.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentCounters, type AgentCounters } from '../helpers/agent-counters.js';
import { runCli, startAgent, type RunningAgent } from '../helpers/cli.js';
import { socketDrops, socketQueuedBytes } from '../fuzz/udp-drops.js';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { checkAuth, signDatagram } from '../../shared/wire/probe-auth.js';
import { decodeProbe, encodeProbe, encodeReply } from '../../shared/wire/probe-codec.js';

const KEY = '5f2b8c1e9d4a7f3b6e0c2d9a8b7f1e4c';
const OTHER_KEY = 'another-key-of-32-characters-xyz';
let dir: string;
let keyFile: string;
let otherKeyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rtprobe-protect-'));
  keyFile = join(dir, 'key');
  otherKeyFile = join(dir, 'other-key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  writeFileSync(otherKeyFile, `${OTHER_KEY}\n`, { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function stopped(agent: RunningAgent): Promise<AgentCounters> {
  const result = await agent.stop();
  const counters = parseAgentCounters(result.stdout);
  if (counters instanceof Error) throw counters;
  return counters;
}

interface Exchange {
  replies: Buffer[];
  elapsedMs: number;
}

/**
 * Sends datagrams from one socket as fast as it can and collects what comes back: returns
 * once the agent has read every datagram (its socket's receive queue is empty), `replies`
 * replies are in and this socket's queue is empty too, plus a quiet window in which a reply
 * too many would show.
 */
async function exchange(port: number, datagrams: Buffer[], replies: number | 'any'): Promise<Exchange> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (data) => received.push(data));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const start = performance.now();
  for (const datagram of datagrams) {
    await new Promise<void>((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
  const elapsedMs = performance.now() - start;
  const own = socket.address().port;
  await waitFor(() => socketQueuedBytes(port) === 0 && socketQueuedBytes(own) === 0 && (replies === 'any' || received.length >= replies), {
    what: () => `the agent to read all ${datagrams.length} datagrams (${socketQueuedBytes(port)} bytes queued) and `
      + `${replies} replies (${received.length} so far)`,
    timeoutMs: 10_000,
  });
  await sleep(100); // the quiet window: a reply the agent should not have sent would arrive here
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return { replies: received, elapsedMs };
}

function signedProbe(session: number, seq: bigint, key: string, size = 64): Buffer {
  const probe = encodeProbe(session, seq, 1n, size);
  signDatagram(probe, Buffer.from(key));
  return probe;
}

interface JsonTarget {
  sent: number;
  received: number;
  lost: number;
  rejected: Record<string, number>;
}

async function runJson(args: string[]): Promise<{ code: number | null; target: JsonTarget; stderr: string }> {
  const result = await runCli(['run', ...args, '--json', '-', '--quiet']);
  const report = JSON.parse(result.stdout) as { targets: JsonTarget[] };
  const target = report.targets[0];
  if (!target) throw new Error(`no target in ${result.stdout}`);
  return { code: result.code, target, stderr: result.stderr };
}

// Both reflectors: the native thread (default) and node:dgram (--timestamps user).
describe.each([['native', []], ['dgram', ['--timestamps', 'user']]] as const)('%s reflector', (name, stampArgs) => {
  it('with the same key on both sides every probe is answered, signed', async () => {
    const agent = await startAgent([...stampArgs, '--key-file', keyFile]);
    const run = await runJson(['--target', `127.0.0.1:${agent.port}`, '--key-file', keyFile, '--count', '40', '--rate', '200', ...stampArgs]);
    const counters = await stopped(agent);
    expect(run.code).toBe(0);
    expect(run.target).toMatchObject({ sent: 40, received: 40, lost: 0 });
    expect(run.target.rejected).toEqual({});
    expect(counters).toMatchObject({ reflected: 40, rejected: 0 });
    // the native thread (kernel stamps) and the dgram reflector really were the ones tested
    expect(counters.timestamps).toBe(name === 'native' ? 'kernel' : 'user');
  });

  it('a controller without the key gets no answer: the agent counts unauthenticated, the run exits 1', async () => {
    const agent = await startAgent([...stampArgs, '--key-file', keyFile]);
    const run = await runJson(['--target', `127.0.0.1:${agent.port}`, '--count', '20', '--rate', '200', '--loss-after', '1s', '--timeout', '1s']);
    const counters = await stopped(agent);
    expect(run.code).toBe(1);
    expect(run.target).toMatchObject({ sent: 20, received: 0, lost: 20 });
    expect(counters).toMatchObject({ reflected: 0, rejected: 20, reasons: { unauthenticated: 20 } });
  });

  it('a probe signed with another key is bad-auth, and nothing is answered', async () => {
    const agent = await startAgent([...stampArgs, '--key-file', keyFile]);
    const sent = await exchange(agent.port, Array.from({ length: 20 }, (_, i) => signedProbe(9, BigInt(i), OTHER_KEY)), 0);
    const counters = await stopped(agent);
    expect(sent.replies).toHaveLength(0);
    expect(counters).toMatchObject({ reflected: 0, rejected: 20, reasons: { 'bad-auth': 20 } });
  });

  it('a replayed probe is answered once; reordered ones within the window are answered; replies are signed', async () => {
    const agent = await startAgent([...stampArgs, '--key-file', keyFile]);
    const probes = [0n, 1n, 2n, 1n, 0n, 5n, 4n, 3n, 5n, 2n].map((seq) => signedProbe(77, seq, KEY, 200));
    const sent = await exchange(agent.port, probes, 6);
    const counters = await stopped(agent);
    expect(sent.replies).toHaveLength(6);
    const seqs = sent.replies.map((reply) => {
      expect(reply.length).toBe(200);
      expect(checkAuth(reply, Buffer.from(KEY))).toBeNull();
      const decoded = decodeProbe(reply);
      return decoded.ok ? decoded.packet.seq : -1n;
    });
    expect(seqs.sort((a, b) => Number(a - b))).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    expect(counters).toMatchObject({ reflected: 6, rejected: 4, reasons: { replay: 4 } });
  });

  it('--max-rate: a burst, then the rate; the excess is counted rate-limited, never answered', async () => {
    const agent = await startAgent([...stampArgs, '--max-rate', '50']); // burst 10
    const probes = Array.from({ length: 300 }, (_, i) => encodeProbe(5, BigInt(i), 1n, 64));
    const sent = await exchange(agent.port, probes, 'any');
    // 300 datagrams at once may overflow the agent's receive buffer: those never reach it
    const kernelDrops = socketDrops(agent.port) ?? 0;
    const counters = await stopped(agent);
    // 10 at once, then at most 50 a second of the sending time (+1 for the token in progress)
    const allowed = 10 + Math.floor((sent.elapsedMs / 1000) * 50) + 1;
    expect(sent.replies.length).toBeGreaterThanOrEqual(10);
    expect(sent.replies.length).toBeLessThanOrEqual(allowed);
    expect(counters.received).toBe(300 - kernelDrops);
    expect(counters.reflected).toBe(sent.replies.length);
    expect(counters.reasons['rate-limited']).toBe(counters.received - sent.replies.length);
  });

  it('--max-sessions: a third session is refused while two are active', async () => {
    const agent = await startAgent([...stampArgs, '--max-sessions', '2']);
    const probes = [1, 2, 3, 1, 2, 3].map((session, i) => encodeProbe(session, BigInt(i), 1n, 64));
    const sent = await exchange(agent.port, probes, 4);
    const counters = await stopped(agent);
    const sessions = sent.replies.map((reply) => reply.readUInt32BE(8)).sort();
    expect(sessions).toEqual([1, 1, 2, 2]);
    expect(counters).toMatchObject({ reflected: 4, rejected: 2, reasons: { 'session-limit': 2 } });
  });
});

/** A fake agent that answers every probe with a reply signed as `sign` says. */
async function fakeAgent(sign: (reply: Buffer) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (data, rinfo) => {
    const reply = encodeReply(data, 1n, 2n, 'user', 'user');
    sign(reply);
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

describe('the controller with --key-file counts only genuine replies', () => {
  it.each([
    ['bad-auth', (reply: Buffer) => signDatagram(reply, Buffer.from(OTHER_KEY))],
    ['unauthenticated', () => {}],
  ] as const)('replies that are %s are rejected as such and the probes are lost', async (reason, sign) => {
    const fake = await fakeAgent(sign);
    try {
      const run = await runJson(['--target', `127.0.0.1:${fake.port}`, '--key-file', keyFile, '--count', '20', '--rate', '200',
        '--loss-after', '1s', '--timeout', '1s']);
      expect(run.code).toBe(1);
      expect(run.target).toMatchObject({ sent: 20, received: 0, lost: 20 });
      expect(run.target.rejected).toEqual({ [reason]: 20 });
    } finally {
      await fake.close();
    }
  });

  it('the same fake agent signing with the right key is believed (the test above can fail)', async () => {
    const fake = await fakeAgent((reply) => signDatagram(reply, Buffer.from(KEY)));
    try {
      const run = await runJson(['--target', `127.0.0.1:${fake.port}`, '--key-file', keyFile, '--count', '20', '--rate', '200']);
      expect(run.target).toMatchObject({ sent: 20, received: 20, lost: 0 });
    } finally {
      await fake.close();
    }
  });
});

describe('--key-file and --max-rate flags', () => {
  it.each([
    [['agent', '--key-file', '/nonexistent/key'], /--key-file: cannot read \/nonexistent\/key \(ENOENT\)/],
    [['agent', '--max-rate', 'fast'], /--max-rate: 'fast' is not a rate.*or 'off'/],
    [['run', '--target', '127.0.0.1:9', '--key-file', '/nonexistent/key'], /--key-file: cannot read/],
    [['run', '--target', 'icmp://127.0.0.1', '--key-file', 'KEYFILE'], /--key-file: every target is probed with ICMP/],
  ])('%j is refused with exit 2', async (args, message) => {
    const result = await runCli(args.map((a) => (a === 'KEYFILE' ? keyFile : a)));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('a key shorter than 16 characters is refused', async () => {
    const short = join(dir, 'short');
    writeFileSync(short, 'too-short\n');
    const result = await runCli(['agent', '--key-file', short]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--key-file: the key in .* is shorter than 16 characters/);
  });
});
