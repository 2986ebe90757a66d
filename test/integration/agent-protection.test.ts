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
import { decodeProbe, encodeProbe } from '../../shared/wire/probe-codec.js';
import { lastStatusReceived, spawnCli } from '../helpers/spawn-cli.js';
import { fakeAgent } from '../helpers/fake-agent.js';

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
async function exchange(port: number, datagrams: Buffer[], replies: number | 'any', from = '127.0.0.1'): Promise<Exchange> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (data) => received.push(data));
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
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
  refused: Record<string, number>;
}

/** The answers of one type: replies, or refusals (with their reason). */
function ofType(datagrams: Buffer[], type: 'reply' | 'refusal'): Buffer[] {
  return datagrams.filter((d) => {
    const decoded = decodeProbe(d);
    return decoded.ok && decoded.packet.type === type;
  });
}

function refusalReason(datagram: Buffer): string | null {
  const decoded = decodeProbe(datagram);
  return decoded.ok ? decoded.packet.refusal?.reason ?? null : null;
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
    // and the run's session-end, signed: it freed the place
    expect(counters).toMatchObject({ reflected: 40, rejected: 0, sessionsEnded: 1 });
    // the native thread (kernel stamps) and the dgram reflector really were the ones tested
    expect(counters.timestamps).toBe(name === 'native' ? 'kernel' : 'user');
  });

  it('a controller without the key gets no answer but refusals: unauthenticated, the run exits 1 saying so', async () => {
    const agent = await startAgent([...stampArgs, '--key-file', keyFile]);
    const run = await runJson(['--target', `127.0.0.1:${agent.port}`, '--count', '20', '--rate', '200', '--loss-after', '1s', '--timeout', '1s']);
    const counters = await stopped(agent);
    expect(run.code).toBe(1);
    expect(run.target).toMatchObject({ sent: 20, received: 0 });
    // 10 refusals at once, then 100 a second: at 200 Hz at least 10 of the 20 are refused, the rest lost
    const refused = run.target.refused.unauthenticated ?? 0;
    expect(refused).toBeGreaterThanOrEqual(10);
    expect(refused + run.target.lost).toBe(20);
    expect(run.stderr).toMatch(/agent refused: unauthenticated; the agent requires signed probes/);
    // the 20 probes; no session-end follows a run the agent never answered
    expect(counters).toMatchObject({ reflected: 0, rejected: 20, sessionsEnded: 0, reasons: { unauthenticated: 20 } });
  });

  it('a probe signed with another key is bad-auth: never a reply, a signed 64-byte refusal within the budget', async () => {
    const agent = await startAgent([...stampArgs, '--key-file', keyFile]);
    const sent = await exchange(agent.port, Array.from({ length: 40 }, (_, i) => signedProbe(9, BigInt(i), OTHER_KEY, 300)), 'any');
    const counters = await stopped(agent);
    expect(ofType(sent.replies, 'reply')).toHaveLength(0);
    const refusals = ofType(sent.replies, 'refusal');
    expect(refusals.length).toBe(sent.replies.length);
    // a burst of 10, then 100 a second of the sending time
    expect(refusals.length).toBeGreaterThanOrEqual(10);
    expect(refusals.length).toBeLessThanOrEqual(10 + Math.ceil(sent.elapsedMs / 10) + 1);
    for (const refusal of refusals) {
      expect(refusal.length).toBe(64);
      expect(refusalReason(refusal)).toBe('bad-auth');
      expect(checkAuth(refusal, Buffer.from(KEY))).toBeNull(); // signed with the agent's key
    }
    expect(counters).toMatchObject({ reflected: 0, rejected: 40, reasons: { 'bad-auth': 40 } });
  });

  it('a replayed probe is answered once; reordered ones within the window are answered; replies are signed', async () => {
    const agent = await startAgent([...stampArgs, '--key-file', keyFile]);
    const probes = [0n, 1n, 2n, 1n, 0n, 5n, 4n, 3n, 5n, 2n].map((seq) => signedProbe(77, seq, KEY, 200));
    const sent = await exchange(agent.port, probes, 10);
    const counters = await stopped(agent);
    const replies = ofType(sent.replies, 'reply');
    expect(replies).toHaveLength(6);
    expect(ofType(sent.replies, 'refusal').map(refusalReason)).toEqual(['replay', 'replay', 'replay', 'replay']);
    const seqs = replies.map((reply) => {
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
    const replies = ofType(sent.replies, 'reply');
    expect(replies.length).toBeGreaterThanOrEqual(10);
    expect(replies.length).toBeLessThanOrEqual(allowed);
    // a rate-limited source is told at most once a second
    const refusals = ofType(sent.replies, 'refusal');
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThanOrEqual(1 + Math.floor(sent.elapsedMs / 1000));
    expect(refusals.map(refusalReason)).toEqual(refusals.map(() => 'rate-limited'));
    expect(counters.received).toBe(300 - kernelDrops);
    expect(counters.reflected).toBe(replies.length);
    expect(counters.reasons['rate-limited']).toBe(counters.received - replies.length);
  });

  it('--max-sessions: a new session from a socket that holds one replaces it; a third address is refused with a reply', async () => {
    const agent = await startAgent([...stampArgs, '--max-sessions', '3']); // a share of 1 place per address
    // one socket, sessions 1, 2, 1: each new one takes over the socket's place
    const one = await exchange(agent.port, [1, 2, 1].map((session, i) => encodeProbe(session, BigInt(i), 1n, 64)), 3);
    const two = await exchange(agent.port, [encodeProbe(5, 0n, 1n, 64)], 1, '127.0.0.2');
    // another socket of 127.0.0.2: its address holds its share
    const three = await exchange(agent.port, [encodeProbe(6, 0n, 1n, 200)], 1, '127.0.0.2');
    const other = await exchange(agent.port, [encodeProbe(8, 0n, 1n, 64)], 1, '127.0.0.3');
    // 127.0.0.4: the agent is full
    const four = await exchange(agent.port, [encodeProbe(7, 0n, 1n, 64)], 1, '127.0.0.4');
    const counters = await stopped(agent);
    expect(ofType(one.replies, 'reply').map((reply) => reply.readUInt32BE(8))).toEqual([1, 2, 1]);
    expect(ofType(two.replies, 'reply')).toHaveLength(1);
    expect(ofType(other.replies, 'reply')).toHaveLength(1);
    for (const [refused, scope, detail] of [[three, 'source-address', 1], [four, 'agent', 3]] as const) {
      expect(refused.replies).toHaveLength(1);
      const decoded = decodeProbe(refused.replies[0] ?? Buffer.alloc(0));
      expect(decoded).toMatchObject({ ok: true, packet: { type: 'refusal', lengthBytes: 64, refusal: { reason: 'session-limit', detail, scope } } });
    }
    expect(counters).toMatchObject({ reflected: 5, rejected: 2, reasons: { 'session-limit': 2 } });
  });

  it('junk with 200 fresh session ids from one socket holds one place: a genuine run from another gets every reply at once', async () => {
    const agent = await startAgent([...stampArgs]);
    await exchange(agent.port, Array.from({ length: 200 }, (_, i) => encodeProbe(0x5000 + i, 0n, 1n, 64)), 200);
    const run = await runJson(['--target', `127.0.0.1:${agent.port}`, '--count', '50', '--rate', '200', '--loss-after', '1s', ...stampArgs]);
    const counters = await stopped(agent);
    expect(run.code).toBe(0);
    expect(run.target).toMatchObject({ sent: 50, received: 50, lost: 0, refused: {} });
    expect(counters.reasons['session-limit']).toBeUndefined();
  });

  it('--max-sessions 1 and two controllers: the second is refused (session-limit, exit 1, the reason named); the first\'s session-end frees the place', async () => {
    const agent = await startAgent([...stampArgs, '--max-sessions', '1']);
    const first = spawnCli(['run', '--target', `127.0.0.1:${agent.port}`, '--count', '6000', '--rate', '100', ...stampArgs]); // 60 s: Ctrl-C ends it
    await waitFor(() => lastStatusReceived(first.stderr()) > 0, { what: () => `the first run's replies: ${first.stderr()}`, timeoutMs: 20_000 });
    const second = await runCli(['run', '--target', `127.0.0.1:${agent.port}`, '--count', '30', '--rate', '100', '--loss-after', '1s',
      '--json', '-', ...stampArgs]);
    first.child.kill('SIGINT'); // Ctrl-C: it reports, and ends its session
    const firstCode = await first.exited;
    const third = await runJson(['--target', `127.0.0.1:${agent.port}`, '--count', '20', '--rate', '100', '--loss-after', '1s', ...stampArgs]);
    const counters = await stopped(agent);
    const report = JSON.parse(second.stdout) as { targets: JsonTarget[] };
    expect(second.code).toBe(1);
    expect(report.targets[0]).toMatchObject({ sent: 30, received: 0, refused: { 'session-limit': 30 } });
    expect(second.stderr).toMatch(/agent refused: session-limit \(1 session busy\); raise --max-sessions on the agent/);
    expect(second.stderr).toMatch(/refused {2}session-limit 30 \(the agent's refusal replies; not counted as lost\)/);
    expect(firstCode).toBe(0);
    expect(first.stdout()).not.toMatch(/refused/);
    // the third run started right after the first ended: its place was free at once
    expect(third.code).toBe(0);
    expect(third.target).toMatchObject({ sent: 20, received: 20, refused: {} });
    // the first and the third ended their sessions; the second, never answered, sent no session-end
    expect(counters).toMatchObject({ sessionsEnded: 2, reasons: { 'session-limit': 30 } });
    expect(counters.reasons['unknown-session']).toBeUndefined();
  });

  it('20 back-to-back short runs with --max-sessions 1 all get every reply (each ends its session)', async () => {
    const agent = await startAgent([...stampArgs, '--max-sessions', '1']);
    const received: number[] = [];
    for (let i = 0; i < 20; i++) {
      const run = await runJson(['--target', `127.0.0.1:${agent.port}`, '--count', '10', '--rate', '100', '--loss-after', '1s', ...stampArgs]);
      received.push(run.target.received);
    }
    const counters = await stopped(agent);
    expect(received).toEqual(Array.from({ length: 20 }, () => 10));
    expect(counters).toMatchObject({ reflected: 200, sessionsEnded: 20 });
    expect(counters.reasons['session-limit']).toBeUndefined();
  }, 120_000);

  it('with --key-file refusals are signed and believed by a controller with the key', async () => {
    const agent = await startAgent([...stampArgs, '--key-file', keyFile, '--max-sessions', '1']);
    await exchange(agent.port, [signedProbe(0x77, 0n, KEY)], 1, '127.0.0.2'); // holds the only place
    const run = await runJson(['--target', `127.0.0.1:${agent.port}`, '--key-file', keyFile, '--count', '10', '--rate', '100',
      '--loss-after', '1s', ...stampArgs]);
    const counters = await stopped(agent);
    expect(run.code).toBe(1);
    expect(run.target).toMatchObject({ sent: 10, received: 0, lost: 0, refused: { 'session-limit': 10 }, rejected: {} });
    expect(counters.reasons).toEqual({ 'session-limit': 10 });
  });
});

describe('the controller with --key-file counts only genuine replies', () => {
  it('unsigned refusals are counted unauthenticated, not believed: the probes are lost', async () => {
    const fake = await fakeAgent(() => {}, true);
    try {
      const run = await runJson(['--target', `127.0.0.1:${fake.port}`, '--key-file', keyFile, '--count', '20', '--rate', '200',
        '--loss-after', '1s', '--timeout', '1s']);
      expect(run.code).toBe(1);
      expect(run.target).toMatchObject({ sent: 20, received: 0, lost: 20, refused: {} });
      expect(run.target.rejected).toEqual({ unauthenticated: 20 });
    } finally {
      await fake.close();
    }
  });

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

describe('--key-file, --max-rate and --max-sessions-per-source flags', () => {
  it.each([
    [['agent', '--key-file', '/nonexistent/key'], /--key-file: cannot read \/nonexistent\/key \(ENOENT\)/],
    [['agent', '--max-rate', 'fast'], /--max-rate: 'fast' is not a rate.*or 'off'/],
    [['agent', '--max-sessions', '16', '--max-sessions-per-source', '17'], /--max-sessions-per-source: 17 is out of range 1\.\.16/],
    [['agent', '--max-sessions-per-source', '0'], /--max-sessions-per-source: 0 is out of range 1\.\.16/],
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
